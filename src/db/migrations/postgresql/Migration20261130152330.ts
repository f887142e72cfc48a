import { Migration } from "@mikro-orm/migrations";

export class Migration20261130152330 extends Migration {
  override name = "Migration20261130152330";

  override up(): void | Promise<void> {
    this.addSql(
      `create table "mail_outbox" ("id" uuid not null, "recipient" varchar(254) not null, "subject" varchar(255) not null, "text_body" text not null, "html_body" text not null, "kind" varchar(32) not null, "user_id" uuid null, "status" varchar(16) not null, "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "claimed_until" timestamptz null, "claimed_by" varchar(64) null, "last_error" varchar(500) null, "created_at" timestamptz not null, "sent_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`create index "mail_outbox_user_id_index" on "mail_outbox" ("user_id");`);
    this.addSql(
      `create index "mail_outbox_status_next_attempt_at_index" on "mail_outbox" ("status", "next_attempt_at");`,
    );

    this.addSql(
      `create table "account_tokens" ("token_hash" varchar(43) not null, "user_id" uuid null, "purpose" varchar(16) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, primary key ("token_hash"));`,
    );
    this.addSql(`create index "account_tokens_user_id_index" on "account_tokens" ("user_id");`);
    this.addSql(`create index "account_tokens_expires_at_index" on "account_tokens" ("expires_at");`);

    this.addSql(`alter table "users" add "email_verified" boolean not null default false;`);

    this.addSql(
      `alter table "sessions" add "last_used_at" timestamptz null, add "client_address" varchar(64) null, add "user_agent" varchar(512) null;`,
    );

    this.addSql(
      `alter table "mail_outbox" add constraint "mail_outbox_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );

    this.addSql(
      `alter table "account_tokens" add constraint "account_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "mail_outbox" cascade;`);
    this.addSql(`drop table if exists "account_tokens" cascade;`);

    this.addSql(
      `alter table "sessions" drop column "last_used_at", drop column "client_address", drop column "user_agent";`,
    );

    this.addSql(`alter table "users" drop column "email_verified";`);
  }
}
