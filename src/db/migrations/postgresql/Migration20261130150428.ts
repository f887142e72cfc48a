import { Migration } from "@mikro-orm/migrations";

export class Migration20261130150428 extends Migration {
  override name = "Migration20261130150428";

  override up(): void | Promise<void> {
    this.addSql(
      `create table "mfa_totp_factors" ("user_id" uuid not null, "secret_ciphertext" varchar(128) not null, "key_id" varchar(32) not null, "confirmed_at" timestamptz null, "last_used_step" int null, "created_at" timestamptz not null, primary key ("user_id"));`,
    );

    this.addSql(
      `create table "mfa_recovery_codes" ("id" uuid not null, "user_id" uuid not null, "code_hash" varchar(43) not null, "used_at" timestamptz null, "created_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(`create index "mfa_recovery_codes_user_id_index" on "mfa_recovery_codes" ("user_id");`);

    this.addSql(
      `create table "mfa_challenges" ("token_hash" varchar(43) not null, "user_id" uuid not null, "account_key" text not null, "amr" varchar(64) not null, "expires_at" timestamptz not null, "failed_attempts" int not null default 0, "created_at" timestamptz not null, primary key ("token_hash"));`,
    );
    this.addSql(`create index "mfa_challenges_user_id_index" on "mfa_challenges" ("user_id");`);
    this.addSql(`create index "mfa_challenges_expires_at_index" on "mfa_challenges" ("expires_at");`);

    this.addSql(`alter table "sessions" add "amr" varchar(64) not null default '["pwd"]';`);

    this.addSql(
      `alter table "mfa_totp_factors" add constraint "mfa_totp_factors_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "mfa_recovery_codes" add constraint "mfa_recovery_codes_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "mfa_challenges" add constraint "mfa_challenges_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "mfa_totp_factors" cascade;`);
    this.addSql(`drop table if exists "mfa_recovery_codes" cascade;`);
    this.addSql(`drop table if exists "mfa_challenges" cascade;`);

    this.addSql(`alter table "sessions" drop column "amr";`);
  }
}
