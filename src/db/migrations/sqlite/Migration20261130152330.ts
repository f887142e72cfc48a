import { Migration } from "@mikro-orm/migrations";

export class Migration20261130152330 extends Migration {
  override name = "Migration20261130152330";

  override up(): void | Promise<void> {
    this.addSql(
      `create table \`mail_outbox\` (\`id\` text not null primary key, \`recipient\` text not null, \`subject\` text not null, \`text_body\` text not null, \`html_body\` text not null, \`kind\` text not null, \`user_id\` text null, \`status\` text not null, \`attempts\` integer not null default 0, \`next_attempt_at\` datetime not null, \`claimed_until\` datetime null, \`claimed_by\` text null, \`last_error\` text null, \`created_at\` datetime not null, \`sent_at\` datetime null, constraint \`mail_outbox_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on delete cascade);`,
    );
    this.addSql(`create index \`mail_outbox_user_id_index\` on \`mail_outbox\` (\`user_id\`);`);
    this.addSql(
      `create index \`mail_outbox_status_next_attempt_at_index\` on \`mail_outbox\` (\`status\`, \`next_attempt_at\`);`,
    );

    this.addSql(
      `create table \`account_tokens\` (\`token_hash\` text not null primary key, \`user_id\` text null, \`purpose\` text not null, \`created_at\` datetime not null, \`expires_at\` datetime not null, \`used_at\` datetime null, constraint \`account_tokens_user_id_foreign\` foreign key (\`user_id\`) references \`users\` (\`id\`) on delete cascade);`,
    );
    this.addSql(`create index \`account_tokens_user_id_index\` on \`account_tokens\` (\`user_id\`);`);
    this.addSql(`create index \`account_tokens_expires_at_index\` on \`account_tokens\` (\`expires_at\`);`);

    this.addSql(`alter table \`users\` add column \`email_verified\` integer not null default false;`);

    this.addSql(`alter table \`sessions\` add column \`last_used_at\` datetime null;`);
    this.addSql(`alter table \`sessions\` add column \`client_address\` text null;`);
    this.addSql(`alter table \`sessions\` add column \`user_agent\` text null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists \`mail_outbox\`;`);
    this.addSql(`drop table if exists \`account_tokens\`;`);

    this.addSql(`alter table \`sessions\` drop column \`last_used_at\`;`);
    this.addSql(`alter table \`sessions\` drop column \`client_address\`;`);
    this.addSql(`alter table \`sessions\` drop column \`user_agent\`;`);

    this.addSql(`alter table \`users\` drop column \`email_verified\`;`);
  }
}
