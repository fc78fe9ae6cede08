-- The data lake's intent log. The lake sink writes raw events to object
-- storage, which has no transactions, so it records what it is about to
-- write before writing it and what it has written after:
--   1. a batch row in state 'writing' with the exact stream sequences of
--      its events and the names of the objects it will put (deterministic,
--      derived from the sequences);
--   2. the objects are put (each put is atomic; putting the same name
--      again replaces it with the same content);
--   3. the batch turns 'done' and its sequences join lake_progress.done,
--      in one transaction; only then are the messages acknowledged.
-- After a crash, a 'writing' batch is redone from the stream for exactly
-- its sequences, and any message whose sequence is in lake_progress.done
-- is acknowledged and skipped: every event lands in the lake once.

CREATE TABLE lake_progress (
    sink           text PRIMARY KEY,               -- the consumer name (LAKE_CONSUMER_NAME)
    stream         text NOT NULL,                  -- the JetStream stream read
    stream_created text NOT NULL,                  -- its creation time as the server reports it: a recreated stream restarts sequences
    done           int8multirange NOT NULL DEFAULT '{}', -- stream sequences already in the lake
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE lake_batches (
    sink       text NOT NULL REFERENCES lake_progress (sink),
    first_seq  bigint NOT NULL,
    last_seq   bigint NOT NULL,
    seqs       int8multirange NOT NULL,            -- exactly the stream sequences of the batch
    objects    text[] NOT NULL,                    -- object paths, relative to the lake root
    events     integer NOT NULL,                   -- rows written
    skipped    integer NOT NULL DEFAULT 0,         -- messages left out: unreadable, or a copy of an event already in the lake
    state      text NOT NULL CHECK (state IN ('writing', 'done')),
    created_at timestamptz NOT NULL DEFAULT now(),
    done_at    timestamptz,
    PRIMARY KEY (sink, first_seq),
    CHECK (first_seq <= last_seq)
);

-- At most one unfinished batch per sink: the sink finishes it before
-- starting another.
CREATE UNIQUE INDEX lake_batches_one_writing ON lake_batches (sink) WHERE state = 'writing';

-- Which batch wrote each event. A relay that re-publishes an event after
-- the broker's duplicate window gives it a new stream sequence; the batch
-- that claims the event id first keeps it and later copies are left out.
-- Claims are made in the same transaction as the batch's 'writing' row, so
-- a redone batch drops exactly the same copies.
CREATE TABLE lake_events (
    sink      text NOT NULL,
    event_id  uuid NOT NULL,
    first_seq bigint NOT NULL,                     -- the batch (lake_batches.first_seq) that holds it
    PRIMARY KEY (sink, event_id)
);
