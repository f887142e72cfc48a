import { Migration } from "@mikro-orm/migrations";

export class Migration20261130153628 extends Migration {
  override name = "Migration20261130153628";

  override up(): void | Promise<void> {
    this.addSql(`create index "sessions_expires_at_index" on "sessions" ("expires_at");`);
    this.addSql(`create index "sessions_revoked_at_index" on "sessions" ("revoked_at");`);

    this.addSql(`create index "refresh_tokens_expires_at_index" on "refresh_tokens" ("expires_at");`);
    this.addSql(
      `create index "refresh_tokens_sealed_index" on "refresh_tokens" ("session_id", "rotated_at") where "successor" is not null;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "refresh_tokens_expires_at_index";`);
    this.addSql(`drop index "refresh_tokens_sealed_index";`);

    this.addSql(`drop index "sessions_expires_at_index";`);
    this.addSql(`drop index "sessions_revoked_at_index";`);
  }
}
