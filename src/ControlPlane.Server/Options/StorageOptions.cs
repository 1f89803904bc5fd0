namespace ControlPlane.Server.Options;

/// <summary>Where grain state and reminders live (configuration section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary><c>memory</c> (embedded default: nothing survives a restart) or <c>postgres</c>.</summary>
    /// <value><c>memory</c>.</value>
    public string Provider { get; set; } = StorageProviders.Memory;

    /// <summary>Npgsql connection string; required for <c>postgres</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>What the server keeps on disk, such as the generated operator token.</summary>
    /// <value><c>./.controlplane</c>.</value>
    public string DataDirectory { get; set; } = "./.controlplane";

    /// <summary>Apply the PostgreSQL migrations at start-up. Turn off where a <c>migrate</c> job does it.</summary>
    /// <value>true.</value>
    public bool MigrateOnStartup { get; set; } = true;

    /// <summary>
    /// Run on an <c>OrleansQuery</c> table that these migrations did not create (Orleans' own ADO.NET scripts):
    /// start-up then checks only that every query key the providers need is present, not its text, and
    /// <c>migrate</c> still refuses the database. Off, a silo refuses such a database and says what to do.
    /// </summary>
    /// <value>false.</value>
    public bool UnmanagedSchema { get; set; }

    public bool IsPostgres => string.Equals(Provider, StorageProviders.Postgres, StringComparison.OrdinalIgnoreCase);
}

public static class StorageProviders
{
    public const string Memory = "memory";
    public const string Postgres = "postgres";
}
