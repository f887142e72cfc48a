import { Migration } from "@mikro-orm/migrations";

export class Migration20261124155818 extends Migration {
  override name = "Migration20261124155818";

  override up(): void | Promise<void> {
    this.addSql(
      `create table \`users\` (\`id\` text not null primary key, \`email\` text not null, \`username\` text not null, \`username_key\` text not null, \`password_hash\` text not null, \`is_active\` integer not null default true, \`created_at\` datetime not null, \`updated_at\` datetime not null, \`last_login_at\` datetime null);`,
    );
    this.addSql(`create unique index \`users_email_unique\` on \`users\` (\`email\`);`);
    this.addSql(`create unique index \`users_username_key_unique\` on \`users\` (\`username_key\`);`);

    this.addSql(
      `create table \`sessions\` (\`id\` text not null primary key, \`user_id\` text not null, \`created_at\` datetime not null, \`expires_at\` datetime not null, \`revoked_at\` datetime null, constraint \`sessions_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on delete cascade);`,
    );
    this.addSql(`create index \`sessions_user_id_index\` on \`sessions\` (\`user_id\`);`);

    this.addSql(
      `create table \`refresh_tokens\` (\`token_hash\` text not null primary key, \`session_id\` text not null, \`created_at\` datetime not null, \`expires_at\` datetime not null, \`rotated_at\` datetime null, \`successor\` text null, constraint \`refresh_tokens_session_id_foreign\` foreign key (\`session_id\`) references \`sessions\` (\`id\`) on delete cascade);`,
    );
    this.addSql(`create index \`refresh_tokens_session_id_index\` on \`refresh_tokens\` (\`session_id\`);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`users\`;`);
    this.addSql(`drop table if exists \`sessions\`;`);
    this.addSql(`drop table if exists \`refresh_tokens\`;`);
  }
}
