-- Orleans ADO.NET reminder table (Microsoft.Orleans.Reminders.AdoNet 10.4.x).
-- Written from shared/orleans-adonet-contract.md. StartTime is timestamptz: a plain timestamp would
-- shift every reminder by the server's time zone.

CREATE TABLE OrleansReminders
(
    ServiceId    varchar(150) NOT NULL,
    GrainId      varchar(150) NOT NULL,
    ReminderName varchar(150) NOT NULL,
    StartTime    timestamptz  NOT NULL,
    -- Milliseconds.
    Period       bigint       NOT NULL,
    GrainHash    integer      NOT NULL,
    Version      integer      NOT NULL,
    CONSTRAINT orleansreminders_pkey PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

-- Each silo reads the reminders of its own hash range when it starts and whenever membership changes.
CREATE INDEX orleansreminders_service_hash_idx ON OrleansReminders (ServiceId, GrainHash);

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('UpsertReminderRowKey', $q$
INSERT INTO OrleansReminders AS r (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
SET StartTime = excluded.StartTime,
    Period    = excluded.Period,
    GrainHash = excluded.GrainHash,
    Version   = r.Version + 1
RETURNING r.Version;
$q$),
('ReadReminderRowsKey', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansReminders
WHERE ServiceId = @ServiceId
  AND GrainId = @GrainId;
$q$),
('ReadReminderRowKey', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansReminders
WHERE ServiceId = @ServiceId
  AND GrainId = @GrainId
  AND ReminderName = @ReminderName;
$q$),
('ReadRangeRows1Key', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansReminders
WHERE ServiceId = @ServiceId
  AND GrainHash > @BeginHash
  AND GrainHash <= @EndHash;
$q$),
('ReadRangeRows2Key', $q$
SELECT GrainId, ReminderName, StartTime, Period, Version
FROM OrleansReminders
WHERE ServiceId = @ServiceId
  AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);
$q$),
('DeleteReminderRowKey', $q$
WITH deleted AS (
    DELETE FROM OrleansReminders
    WHERE ServiceId = @ServiceId
      AND GrainId = @GrainId
      AND ReminderName = @ReminderName
      AND Version = @Version
    RETURNING 1
)
SELECT count(*) FROM deleted;
$q$),
('DeleteReminderRowsKey', $q$
DELETE FROM OrleansReminders
WHERE ServiceId = @ServiceId;
$q$);
