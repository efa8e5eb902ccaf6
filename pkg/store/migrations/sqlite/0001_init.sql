-- Accounts, logins and refresh tokens (the auth service).
--
-- Times are integers: microseconds since the Unix epoch, in UTC.
-- AUTOINCREMENT keeps an id from ever being handed out twice, even after
-- the newest row is deleted, since tokens name users by id. STRICT tables
-- refuse a value of the wrong type instead of storing it anyway.

CREATE TABLE users (
    id            integer PRIMARY KEY AUTOINCREMENT,
    username      text NOT NULL,
    -- username_fold is the username under Unicode simple case folding,
    -- computed by the application so that both engines agree.
    username_fold text NOT NULL UNIQUE,
    email         text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    created_at    integer NOT NULL
) STRICT;

CREATE TABLE sessions (
    id         text PRIMARY KEY,
    user_id    integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at integer NOT NULL,
    expires_at integer NOT NULL,
    revoked_at integer
) STRICT;
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
    id          text PRIMARY KEY,
    session_id  text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id     integer NOT NULL,
    issued_at   integer NOT NULL,
    expires_at  integer NOT NULL,
    used_at     integer,
    replaced_by text NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

-- Chats, members and history (the archiver). Nothing here refers to
-- users: in a cluster the archiver may have a database of its own, so
-- members and messages carry the username they had.

CREATE TABLE chats (
    id              integer PRIMARY KEY AUTOINCREMENT,
    uri             text NOT NULL UNIQUE,
    owner_id        integer NOT NULL,
    created_at      integer NOT NULL,
    last_message_at integer
) STRICT;

CREATE TABLE members (
    chat_id   integer NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id   integer NOT NULL,
    username  text NOT NULL,
    joined_at integer NOT NULL,
    PRIMARY KEY (chat_id, user_id)
) STRICT;
CREATE INDEX members_by_user ON members (user_id);

-- A message id is the stream's sequence number, unique across chats.
CREATE TABLE messages (
    id         integer PRIMARY KEY,
    chat_id    integer NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    user_id    integer NOT NULL,
    username   text NOT NULL,
    body       text NOT NULL,
    client_id  text,
    created_at integer NOT NULL,
    UNIQUE (chat_id, user_id, client_id)
) STRICT;
CREATE INDEX messages_by_chat ON messages (chat_id, id);
