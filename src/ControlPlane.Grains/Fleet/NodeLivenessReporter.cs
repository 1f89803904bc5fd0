using System.Collections.Concurrent;
using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains.Fleet;

/// <summary>
/// One per silo: collects the nodes whose agents this silo's node grains heard, and sends them to the scheduler's
/// record once a second (<see cref="ISchedulerGrain.NodesHeardAsync"/>), so that what a node grain heard outlives it
/// should its silo die. A node grain notes a heartbeat here without a message; the scheduler gets one message per
/// silo a second, with every node heard since, however large the fleet. What the scheduler did not take is sent again,
/// and a scheduler that has just started (its own silo died, or Orleans moved it) is sent everything this silo heard.
/// </summary>
public sealed partial class NodeLivenessReporter(IGrainFactory grains, ILocalSiloDetails silo, TimeProvider time, ILogger<NodeLivenessReporter> logger) : BackgroundService
{
    /// <summary>How often the silo reports: well inside the suspect window, so routing never drops a node that is heard.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _known = new(StringComparer.Ordinal);
    private ConcurrentDictionary<string, DateTimeOffset> _heard = new(StringComparer.Ordinal);
    private bool _sendAll = true;
    private bool _failing;

    /// <summary>Notes that a node grain on this silo accepted a heartbeat of the node's agent at <paramref name="at"/>.</summary>
    public void Heard(string nodeId, DateTimeOffset at)
    {
        _heard.AddOrUpdate(nodeId, at, (_, known) => known > at ? known : at);
        _known.AddOrUpdate(nodeId, at, (_, known) => known > at ? known : at);
    }

    /// <summary>
    /// Sends what was noted since the last report (everything known, when the scheduler asked for it); false when the
    /// scheduler did not take it (it is kept for the next).
    /// </summary>
    public async Task<bool> ReportAsync()
    {
        var all = _sendAll;
        var taken = Interlocked.Exchange(ref _heard, new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal));
        var sending = all ? _known : taken;
        if (sending.IsEmpty)
        {
            // Nothing heard: nothing to say (and no reason to wake the scheduler up).
            return true;
        }

        var now = time.GetUtcNow();
        var batch = sending.Select(h => new NodeHeard(h.Key, now - h.Value)).ToArray();
        try
        {
            _sendAll = await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).NodesHeardAsync(silo.SiloAddress, batch, all);
            if (_failing)
            {
                _failing = false;
                LogReporting(batch.Length);
            }

            return true;
        }
        catch (Exception e) when (e is TimeoutException or OrleansException or InvalidOperationException)
        {
            // InvalidOperationException: the silo is not (or no longer) running. Either way, the next report carries these.
            foreach (var (nodeId, at) in taken)
            {
                _heard.AddOrUpdate(nodeId, at, (_, known) => known > at ? known : at);
            }

            if (!_failing)
            {
                _failing = true;
                LogNotTaken(batch.Length, e.Message);
            }

            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await ReportAsync();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The scheduler did not take this silo's record of {Count} node(s) heard ({Reason}); sending it again in a second")]
    private partial void LogNotTaken(int count, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The scheduler takes this silo's record of nodes heard again ({Count} node(s))")]
    private partial void LogReporting(int count);
}
