using ControlPlane.Domain.Fleet;

namespace ControlPlane.Grains.Fleet;

/// <summary>Failure detection of GPU nodes (configuration section <c>Fleet</c>).</summary>
public sealed class FleetOptions
{
    public const string SectionName = "Fleet";

    /// <summary>How often agents heartbeat; told to them in every reply.</summary>
    /// <value>5 seconds.</value>
    public int HeartbeatIntervalSeconds { get; set; } = 5;

    /// <summary>Missed intervals after which a node is <c>suspect</c> (no new routing).</summary>
    /// <value>2.</value>
    public int SuspectAfterMissedHeartbeats { get; set; } = 2;

    /// <summary>Missed intervals after which a node is <c>down</c> (its work is re-placed).</summary>
    /// <value>4.</value>
    public int DownAfterMissedHeartbeats { get; set; } = 4;

    /// <summary>
    /// Period of each node's durable watchdog reminder. The reminder brings a node's grain back after
    /// its silo died, so a node whose agent is also gone is still found dead; between reminders, a
    /// timer of the live activation checks every heartbeat interval. Orleans' minimum reminder period
    /// is set to this value, so it may be below a minute in tests.
    /// </summary>
    /// <value>60 seconds.</value>
    public int WatchdogPeriodSeconds { get; set; } = 60;

    public HeartbeatPolicy ToPolicy() =>
        new(TimeSpan.FromSeconds(HeartbeatIntervalSeconds), SuspectAfterMissedHeartbeats, DownAfterMissedHeartbeats);
}
