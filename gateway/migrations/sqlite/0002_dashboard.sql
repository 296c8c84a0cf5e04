-- What the manager dashboard reads: where every job stands (also jobs not yet started),
-- pre-aggregated stage times and metal losses per day, stations' online history, and the
-- people who may sign in with their sessions.

-- Since when a job is where it is (its last stage start or finish, or its import), the
-- gross metal it was last weighed with (issue or receipt), and whether it has finished the
-- last stage of its route. A job imported but not started has a row with last_event_us 0.
ALTER TABLE job_state ADD COLUMN since_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_state ADD COLUMN metal_grams TEXT;
ALTER TABLE job_state ADD COLUMN done BIGINT NOT NULL DEFAULT 0;
INSERT INTO job_state (job_id, stage, in_progress, held, last_event_us, since_us, done)
    SELECT job_id, NULL, 0, 0, 0, updated_us, 0 FROM master_jobs
    WHERE job_id NOT IN (SELECT job_id FROM job_state);
UPDATE job_state SET since_us = last_event_us WHERE since_us = 0;
CREATE INDEX job_state_open ON job_state (done, stage);
CREATE INDEX job_state_open_by_last_event ON job_state (done, last_event_us);
CREATE INDEX master_jobs_by_due ON master_jobs (due_date);

-- When a station last went online or offline.
ALTER TABLE station_state ADD COLUMN online_since_us BIGINT;

-- Finished stage visits per UTC day and stage, counted in logarithmic duration buckets
-- (each 5% wider than the one before), from which the median and p90 of any period are
-- read without touching the visits themselves.
CREATE TABLE stage_time_daily (
    day          BIGINT  NOT NULL,
    stage        TEXT    NOT NULL,
    bucket       BIGINT  NOT NULL,
    visits       BIGINT  NOT NULL,
    PRIMARY KEY (day, stage, bucket)
) WITHOUT ROWID;

-- Metal booked when a stage visit finished, per UTC day, stage, operator and alloy, in
-- whole nanograms so that the database sums any period exactly. Each visit's grams are
-- rounded to the nanogram once, when booked; the ledger keeps every weighing exact.
CREATE TABLE loss_daily (
    day          BIGINT  NOT NULL,
    stage        TEXT    NOT NULL,
    operator_id  TEXT    NOT NULL,
    alloy        TEXT    NOT NULL,
    issued_ng    BIGINT  NOT NULL,
    received_ng  BIGINT  NOT NULL,
    scrap_ng     BIGINT  NOT NULL,
    visits       BIGINT  NOT NULL,
    PRIMARY KEY (day, stage, operator_id, alloy)
) WITHOUT ROWID;

-- The same two, per UTC calendar month (months since January 1970), for periods of a
-- year: twelve rows a group instead of 365.
CREATE TABLE stage_time_monthly (
    month        BIGINT  NOT NULL,
    stage        TEXT    NOT NULL,
    bucket       BIGINT  NOT NULL,
    visits       BIGINT  NOT NULL,
    PRIMARY KEY (month, stage, bucket)
) WITHOUT ROWID;

CREATE TABLE loss_monthly (
    month        BIGINT  NOT NULL,
    stage        TEXT    NOT NULL,
    operator_id  TEXT    NOT NULL,
    alloy        TEXT    NOT NULL,
    issued_ng    BIGINT  NOT NULL,
    received_ng  BIGINT  NOT NULL,
    scrap_ng     BIGINT  NOT NULL,
    visits       BIGINT  NOT NULL,
    PRIMARY KEY (month, stage, operator_id, alloy)
) WITHOUT ROWID;

-- What has been booked into loss_daily for each job and stage, so that a stage worked
-- twice books only what changed since.
CREATE TABLE stage_booked (
    job_id       TEXT    NOT NULL,
    stage        TEXT    NOT NULL,
    issued       TEXT    NOT NULL,
    received     TEXT    NOT NULL,
    scrap        TEXT    NOT NULL,
    PRIMARY KEY (job_id, stage)
);

-- The price of a gram of fine metal, set by a manager or a price feed.
CREATE TABLE metal_prices (
    metal        TEXT    PRIMARY KEY,
    per_gram     TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    updated_us   BIGINT  NOT NULL,
    updated_by   TEXT    NOT NULL
);

-- Managers and supervisors who sign in to the dashboard. Passwords are argon2id hashes.
CREATE TABLE users (
    username      TEXT    PRIMARY KEY,
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    disabled      BIGINT  NOT NULL DEFAULT 0,
    created_us    BIGINT  NOT NULL
);

-- Signed-in sessions, by the SHA-256 of the cookie's token: the table alone signs nobody in.
CREATE TABLE sessions (
    token_hash    TEXT    PRIMARY KEY,
    username      TEXT    NOT NULL,
    created_us    BIGINT  NOT NULL,
    last_seen_us  BIGINT  NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (username);
