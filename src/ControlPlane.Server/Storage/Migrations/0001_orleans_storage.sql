-- Orleans ADO.NET grain persistence (Microsoft.Orleans.Persistence.AdoNet 10.4.x).
-- Written from shared/orleans-adonet-contract.md: the provider only needs the named queries below
-- in OrleansQuery; the state table and its function are ours.
-- Identifiers are unquoted on purpose: the provider reads "OrleansQuery" unquoted, so it folds to
-- lower case, and it reads result columns by name, which Npgsql matches case-insensitively.

CREATE TABLE OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL,
    QueryText varchar(8000) NOT NULL,
    CONSTRAINT orleansquery_pkey PRIMARY KEY (QueryKey)
);

CREATE TABLE OrleansGrainState
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    -- The state name from [PersistentState("name", ...)], not the grain class.
    GrainTypeString        varchar(512) NOT NULL,
    -- Null for integer and Guid keys.
    GrainIdExtensionString varchar(512),
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea,
    ModifiedOn             timestamptz  NOT NULL,
    -- The ETag Orleans hands back on every write.
    Version                integer,
    -- Null-safe, so two concurrent first writes of one grain cannot both insert; the two hashes lead,
    -- so the same index serves the narrow look-up every query starts with.
    CONSTRAINT orleansgrainstate_grain_key UNIQUE NULLS NOT DISTINCT
        (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, GrainIdExtensionString, ServiceId)
);

-- One statement per call, so the insert-or-compare-and-swap is atomic without an explicit transaction.
-- Returns the new version when the write applied; otherwise the version the caller passed in (null
-- for a first write that lost to an existing row), which Orleans turns into InconsistentStateException.
CREATE FUNCTION orleans_write_grain_state(
    _grain_id_hash             integer,
    _grain_id_n0               bigint,
    _grain_id_n1               bigint,
    _grain_type_hash           integer,
    _grain_type_string         text,
    _grain_id_extension_string text,
    _service_id                text,
    _grain_state_version       integer,
    _payload_binary            bytea)
RETURNS TABLE (NewGrainStateVersion integer)
LANGUAGE plpgsql
AS $fn$
DECLARE
    _new_version integer;
BEGIN
    IF _grain_state_version IS NULL THEN
        INSERT INTO OrleansGrainState AS s
            (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString, GrainIdExtensionString,
             ServiceId, PayloadBinary, ModifiedOn, Version)
        VALUES
            (_grain_id_hash, _grain_id_n0, _grain_id_n1, _grain_type_hash, _grain_type_string,
             _grain_id_extension_string, _service_id, _payload_binary, now(), 1)
        ON CONFLICT ON CONSTRAINT orleansgrainstate_grain_key DO NOTHING
        RETURNING s.Version INTO _new_version;
    ELSE
        UPDATE OrleansGrainState AS s
        SET PayloadBinary = _payload_binary,
            ModifiedOn    = now(),
            Version       = s.Version + 1
        WHERE s.GrainIdHash = _grain_id_hash
          AND s.GrainTypeHash = _grain_type_hash
          AND s.GrainIdN0 = _grain_id_n0
          AND s.GrainIdN1 = _grain_id_n1
          AND s.GrainTypeString = _grain_type_string
          AND s.GrainIdExtensionString IS NOT DISTINCT FROM _grain_id_extension_string
          AND s.ServiceId = _service_id
          AND s.Version = _grain_state_version
        RETURNING s.Version INTO _new_version;
    END IF;

    RETURN QUERY SELECT COALESCE(_new_version, _grain_state_version);
END;
$fn$;

INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
('ReadFromStorageKey', $q$
SELECT PayloadBinary, Version
FROM OrleansGrainState
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM CAST(@GrainIdExtensionString AS varchar)
  AND ServiceId = @ServiceId;
$q$),
('WriteToStorageKey', $q$
SELECT NewGrainStateVersion
FROM orleans_write_grain_state(
    CAST(@GrainIdHash AS integer),
    CAST(@GrainIdN0 AS bigint),
    CAST(@GrainIdN1 AS bigint),
    CAST(@GrainTypeHash AS integer),
    CAST(@GrainTypeString AS text),
    CAST(@GrainIdExtensionString AS text),
    CAST(@ServiceId AS text),
    CAST(@GrainStateVersion AS integer),
    CAST(@PayloadBinary AS bytea));
$q$),
('ClearStorageKey', $q$
UPDATE OrleansGrainState
SET PayloadBinary = NULL,
    ModifiedOn    = now(),
    Version       = Version + 1
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM CAST(@GrainIdExtensionString AS varchar)
  AND ServiceId = @ServiceId
  AND Version = CAST(@GrainStateVersion AS integer)
RETURNING Version;
$q$),
('DeleteStorageKey', $q$
DELETE FROM OrleansGrainState
WHERE GrainIdHash = @GrainIdHash
  AND GrainTypeHash = @GrainTypeHash
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainTypeString = @GrainTypeString
  AND GrainIdExtensionString IS NOT DISTINCT FROM CAST(@GrainIdExtensionString AS varchar)
  AND ServiceId = @ServiceId
  AND Version = CAST(@GrainStateVersion AS integer)
RETURNING Version + 1;
$q$);
