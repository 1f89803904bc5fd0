-- Usage buckets (one customer's usage on one UTC day) outside Orleans' grain state, so that a commit writes only
-- what it adds. Until now a bucket was one OrleansGrainState row (state name usage-bucket) holding the hashes of
-- every event id the day counted, rewritten whole by each commit: the later in a busy day, the bigger each write.
-- Those rows are left as they are: a bucket with no row here reads its old row, and its first commit here moves it.

-- The day's totals per ledger (small), rewritten by every commit; Version is the optimistic-concurrency check.
CREATE TABLE UsageBucketTotals
(
    ServiceId  varchar(150) NOT NULL,
    -- The grain key: usage:{customer}:{yyyyMMdd}.
    BucketKey  varchar(512) NOT NULL,
    -- Orleans' binary serialization of UsageBucketTotals.
    Totals     bytea        NOT NULL,
    Version    integer      NOT NULL,
    ModifiedOn timestamptz  NOT NULL,
    CONSTRAINT usagebuckettotals_pkey PRIMARY KEY (ServiceId, BucketKey)
);

-- The 128-bit hashes of the event ids each commit counted, 16 bytes each, back to back: one row per commit that
-- counted anything, never updated. Written in the same statement as the totals' version it belongs to.
CREATE TABLE UsageBucketSeenIds
(
    ServiceId varchar(150) NOT NULL,
    BucketKey varchar(512) NOT NULL,
    Version   integer      NOT NULL,
    Ids       bytea        NOT NULL,
    CONSTRAINT usagebucketseenids_pkey PRIMARY KEY (ServiceId, BucketKey, Version)
);

-- Hashes do not compress: store them out of line without trying.
ALTER TABLE UsageBucketSeenIds ALTER COLUMN Ids SET STORAGE EXTERNAL;
