using Microsoft.Extensions.Logging;

namespace ControlPlane.Server.Storage;

public sealed partial class PostgresMigrator
{
    [LoggerMessage(1, LogLevel.Debug, "Waiting for the migration lock on database {Database}")]
    private static partial void LogAcquiringLock(ILogger logger, string database);

    [LoggerMessage(2, LogLevel.Information, "Applying migration {Migration}")]
    private static partial void LogApplying(ILogger logger, string migration);

    [LoggerMessage(3, LogLevel.Information, "Applied migration {Migration} in {ElapsedMs:F0} ms")]
    private static partial void LogApplied(ILogger logger, string migration, double elapsedMs);

    [LoggerMessage(4, LogLevel.Information, "Database schema is up to date ({Count} migrations)")]
    private static partial void LogUpToDate(ILogger logger, int count);

    [LoggerMessage(5, LogLevel.Warning, "Database has migration {Migration} (version {Version}) that this build does not know; a newer build applied it")]
    private static partial void LogUnknownMigration(ILogger logger, string migration, int version);

    [LoggerMessage(6, LogLevel.Warning, "Restored query {QueryKey} in OrleansQuery to the text the migrations installed")]
    private static partial void LogRestoredQuery(ILogger logger, string queryKey);
}
