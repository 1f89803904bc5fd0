namespace ControlPlane.NodeAgent.Replicas;

/// <summary>
/// The engine of a sleeping replica, woken for a new replica id: <c>starting</c> while <paramref name="wake"/> runs, then as
/// the engine is (ready, or failed if it ended); failed if the wake fails. Every runtime that can sleep wakes its engines so;
/// what a wake is (a command, a call to the engine) is the runtime's.
/// </summary>
/// <param name="engine">The sleeping engine; stopping the woken replica stops it.</param>
/// <param name="wake">Wakes the engine: null once awake, else what went wrong. Cancelled when the replica is stopped.</param>
internal sealed class WokenReplica : IReplica
{
    private readonly IReplica _engine;
    private readonly CancellationTokenSource _stopping = new();
    private volatile ReplicaStatus? _wake;

    public WokenReplica(IReplica engine, ReplicaSpec spec, Func<CancellationToken, Task<string?>> wake)
    {
        _engine = engine;
        Spec = spec;
        _ = Task.Run(() => WakeAsync(wake));
    }

    public ReplicaSpec Spec { get; }

    public ReplicaStatus Status => _wake is null ? ReplicaStatus.Starting
        : _wake.State == ReplicaState.Failed ? _wake
        : _engine.Status;

    public Task StopAsync()
    {
        _stopping.Cancel();
        return _engine.StopAsync();
    }

    public Task<bool> SleepAsync() => _wake is { State: ReplicaState.Ready } ? _engine.SleepAsync() : Task.FromResult(false);

    public IReplica Wake(ReplicaSpec spec) => _engine.Wake(spec);

    private async Task WakeAsync(Func<CancellationToken, Task<string?>> wake)
    {
        try
        {
            var problem = await wake(_stopping.Token);
            if (!_stopping.IsCancellationRequested)
            {
                _wake = problem is null ? ReplicaStatus.Ready : ReplicaStatus.Failed(problem);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped while waking: a stopped replica keeps the state it had; the stop deals with the engine.
        }
    }
}
