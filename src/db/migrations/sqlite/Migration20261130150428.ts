import { Migration } from "@mikro-orm/migrations";

export class Migration20261130150428 extends Migration {
  override name = "Migration20261130150428";

  override up(): void | Promise<void> {
    this.addSql(
      `create table \`mfa_totp_factors\` (\`user_id\` text not null primary key, \`secret_ciphertext\` text not null, \`key_id\` text not null, \`confirmed_at\` datetime null, \`last_used_step\` integer null, \`created_at\` datetime not null, constraint \`mfa_totp_factors_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on update cascade on delete cascade);`,
    );

    this.addSql(
      `create table \`mfa_recovery_codes\` (\`id\` text not null primary key, \`user_id\` text not null, \`code_hash\` text not null, \`used_at\` datetime null, \`created_at\` datetime not null, constraint \`mfa_recovery_codes_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on delete cascade);`,
    );
    this.addSql(`create index \`mfa_recovery_codes_user_id_index\` on \`mfa_recovery_codes\` (\`user_id\`);`);

    this.addSql(
      `create table \`mfa_challenges\` (\`token_hash\` text not null primary key, \`user_id\` text not null, \`account_key\` text not null, \`amr\` text not null, \`expires_at\` datetime not null, \`failed_attempts\` integer not null default 0, \`created_at\` datetime not null, constraint \`mfa_challenges_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on delete cascade);`,
    );
    this.addSql(`create index \`mfa_challenges_user_id_index\` on \`mfa_challenges\` (\`user_id\`);`);
    this.addSql(`create index \`mfa_challenges_expires_at_index\` on \`mfa_challenges\` (\`expires_at\`);`);

    this.addSql(`alter table \`sessions\` add column \`amr\` text not null default '["pwd"]';`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`mfa_totp_factors\`;`);
    this.addSql(`drop table if exists \`mfa_recovery_codes\`;`);
    this.addSql(`drop table if exists \`mfa_challenges\`;`);

    this.addSql(`alter table \`sessions\` drop column \`amr\`;`);
  }
}
