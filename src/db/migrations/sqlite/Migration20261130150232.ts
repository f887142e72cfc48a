import { Migration } from "@mikro-orm/migrations";

export class Migration20261130150232 extends Migration {
  override name = "Migration20261130150232";

  override up(): void | Promise<void> {
    this.addSql(`alter table \`users\` add column \`roles\` text not null default '';`);
    this.addSql(`create index \`users_created_at_id_index\` on \`users\` (\`created_at\`, \`id\`);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index \`users_created_at_id_index\`;`);
    this.addSql(`alter table \`users\` drop column \`roles\`;`);
  }
}
