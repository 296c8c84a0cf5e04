-- The floor ledger and everything derived from it. Times are microseconds since the Unix
-- epoch (UTC) so that both backends compare and subtract them the same way; grams are exact
-- decimal text, summed in the gateway, never in SQL floats.

CREATE TABLE events (
    cursor       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     TEXT    NOT NULL UNIQUE,
    station_id   TEXT    NOT NULL,
    seq          BIGINT  NOT NULL,
    operator_id  TEXT,
    job_id       TEXT,
    fact_type    TEXT    NOT NULL,
    recorded_us  BIGINT  NOT NULL,
    received_us  BIGINT  NOT NULL,
    payload      TEXT    NOT NULL
);
CREATE INDEX events_by_job ON events (job_id, cursor);
CREATE INDEX events_by_station ON events (station_id, seq);
CREATE INDEX events_by_operator ON events (operator_id, cursor);

CREATE TABLE dead_letters (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_us  BIGINT  NOT NULL,
    topic        TEXT    NOT NULL,
    payload      BYTEA   NOT NULL,
    reason       TEXT    NOT NULL
);

CREATE TABLE anomalies (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     TEXT    NOT NULL,
    station_id   TEXT    NOT NULL,
    job_id       TEXT,
    kind         TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    created_us   BIGINT  NOT NULL
);
CREATE INDEX anomalies_by_event ON anomalies (event_id);
CREATE INDEX anomalies_by_job ON anomalies (job_id);

CREATE TABLE job_state (
    job_id       TEXT    PRIMARY KEY,
    stage        TEXT,
    in_progress  BIGINT  NOT NULL,
    held         BIGINT  NOT NULL,
    station_id   TEXT,
    holder_id    TEXT,
    last_event_us BIGINT NOT NULL
);

CREATE TABLE stage_visits (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       TEXT    NOT NULL,
    stage        TEXT    NOT NULL,
    station_id   TEXT    NOT NULL,
    operator_id  TEXT,
    started_us   BIGINT  NOT NULL,
    finished_us  BIGINT
);
CREATE INDEX stage_visits_open ON stage_visits (job_id, stage, finished_us);
CREATE INDEX stage_visits_by_stage ON stage_visits (stage, started_us);

CREATE TABLE metal_totals (
    job_id       TEXT    NOT NULL,
    stage        TEXT    NOT NULL,
    operator_id  TEXT    NOT NULL,
    purpose      TEXT    NOT NULL,
    grams        TEXT    NOT NULL,
    weighings    BIGINT  NOT NULL,
    PRIMARY KEY (job_id, stage, operator_id, purpose)
);

CREATE TABLE station_state (
    station_id     TEXT   PRIMARY KEY,
    last_seq       BIGINT NOT NULL,
    last_event_us  BIGINT,
    last_status_us BIGINT,
    online         BIGINT  NOT NULL,
    backlog        BIGINT NOT NULL,
    balance        TEXT,
    balance_detail TEXT,
    version        TEXT,
    operator_id    TEXT
);

CREATE TABLE master_jobs (
    job_id       TEXT    PRIMARY KEY,
    customer_ref TEXT    NOT NULL,
    alloy        TEXT    NOT NULL,
    due_date     TEXT    NOT NULL,
    doc          TEXT    NOT NULL,
    updated_us   BIGINT  NOT NULL
);
CREATE INDEX master_jobs_by_customer ON master_jobs (customer_ref);

CREATE TABLE stone_reservations (
    item_id      TEXT    PRIMARY KEY,
    job_id       TEXT    NOT NULL,
    certificate  TEXT
);
CREATE INDEX stone_reservations_by_certificate ON stone_reservations (certificate);

CREATE TABLE master_docs (
    list         TEXT    NOT NULL,
    item_id      TEXT    NOT NULL,
    doc          TEXT    NOT NULL,
    updated_us   BIGINT  NOT NULL,
    PRIMARY KEY (list, item_id)
);
