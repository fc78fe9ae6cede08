-- The analytics database holds only read models derived from events.
-- Every applied event is recorded here in the same transaction as its
-- effect on the read models: a redelivered event finds its id and changes
-- nothing.
CREATE TABLE processed_events (
    event_id     uuid PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
