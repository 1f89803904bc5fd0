namespace ControlPlane.Simulator.Live;

internal enum ChaosKind
{
    /// <summary>The node's agent stops without a word, as a crashed machine's would.</summary>
    Crash,

    /// <summary>The crashed node's agent starts again (a new session).</summary>
    Restart,

    /// <summary>The node's nvidia-smi starts failing.</summary>
    FailGpus,

    /// <summary>The node's nvidia-smi works again.</summary>
    RecoverGpus,
}

internal sealed record ChaosAction(ChaosKind Kind, int Node);

/// <summary>
/// What goes wrong when, in ticks of <c>--chaos-seconds</c>: at every tick the next running node (round
/// robin) crashes and comes back two ticks later; at tick 2 one running node's nvidia-smi fails, until tick 3.
/// </summary>
internal sealed class ChaosSchedule(int nodeCount)
{
    public const int CrashTicks = 2;
    private const int GpuFailureTick = 2;

    private readonly int?[] _crashedAt = new int?[nodeCount];
    private int _nextToCrash;
    private int? _gpusFailing;

    /// <summary>The actions of <paramref name="tick"/> (1, 2, 3, ...; call each tick once, in order), in the order to apply them.</summary>
    public IReadOnlyList<ChaosAction> Next(int tick)
    {
        var actions = new List<ChaosAction>();
        for (var node = 0; node < nodeCount; node++)
        {
            if (_crashedAt[node] is { } crashed && tick - crashed >= CrashTicks)
            {
                _crashedAt[node] = null;
                actions.Add(new ChaosAction(ChaosKind.Restart, node));
            }
        }

        if (_gpusFailing is { } failing && tick > GpuFailureTick)
        {
            _gpusFailing = null;
            actions.Add(new ChaosAction(ChaosKind.RecoverGpus, failing));
        }

        // A node that has just come back gets to show that it is ready before it is crashed again.
        for (var k = 0; k < nodeCount; k++)
        {
            var node = (_nextToCrash + k) % nodeCount;
            if (_crashedAt[node] is null && !actions.Contains(new ChaosAction(ChaosKind.Restart, node)))
            {
                _crashedAt[node] = tick;
                _nextToCrash = (node + 1) % nodeCount;
                actions.Add(new ChaosAction(ChaosKind.Crash, node));
                break;
            }
        }

        if (tick == GpuFailureTick)
        {
            // From the end of the fleet, so that it is not the node that crashes next.
            for (var node = nodeCount - 1; node >= 0; node--)
            {
                if (_crashedAt[node] is null)
                {
                    _gpusFailing = node;
                    actions.Add(new ChaosAction(ChaosKind.FailGpus, node));
                    break;
                }
            }
        }

        return actions;
    }
}

/// <summary>Applies a <see cref="ChaosSchedule"/> to a <see cref="LiveFleet"/>, one tick every <c>--chaos-seconds</c>.</summary>
internal static class Chaos
{
    public static async Task RunAsync(LiveFleet fleet, TimeSpan interval, TextWriter output, CancellationToken cancellationToken)
    {
        var schedule = new ChaosSchedule(fleet.Nodes.Count);
        using var timer = new PeriodicTimer(interval);
        try
        {
            for (var tick = 1; await timer.WaitForNextTickAsync(cancellationToken); tick++)
            {
                foreach (var action in schedule.Next(tick))
                {
                    await ApplyAsync(fleet, action, interval, output);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static async Task ApplyAsync(LiveFleet fleet, ChaosAction action, TimeSpan interval, TextWriter output)
    {
        var nodeId = fleet.Nodes[action.Node].NodeId;
        switch (action.Kind)
        {
            case ChaosKind.Crash:
                await fleet.CrashAsync(action.Node);
                output.WriteLine($"[chaos] {nodeId} crashed: its agent stopped heartbeating (back in {(interval * ChaosSchedule.CrashTicks).TotalSeconds:0} s)");
                break;
            case ChaosKind.Restart:
                fleet.Start(action.Node);
                output.WriteLine($"[chaos] {nodeId} is back: its agent started again with a new session");
                break;
            case ChaosKind.FailGpus:
                fleet.FailGpuReader(action.Node);
                output.WriteLine($"[chaos] {nodeId}: nvidia-smi fails for {interval.TotalSeconds:0} s (the node reports an inventoryError, its GPUs count as unhealthy)");
                break;
            case ChaosKind.RecoverGpus:
                fleet.RecoverGpuReader(action.Node);
                output.WriteLine($"[chaos] {nodeId}: nvidia-smi works again");
                break;
        }
    }
}
