namespace ControlPlane.Grains;

/// <summary>
/// Group commit for a reentrant grain whose state is one record, rewritten whole by every write: changes that
/// arrive while a write is in flight wait, and the next write takes all of them. So a record that grows with the
/// fleet (a region's nodes, the directory of all nodes) is written once per group of changes, not once per
/// change. A change is answered only once a write that holds it succeeded; when a write fails, every change of its
/// group fails with it (their senders retry), after the state is read back as stored.
/// </summary>
/// <param name="apply">Applies a group of changes to the state in memory; whether anything changed (false: no write).</param>
/// <param name="write">Writes the state.</param>
/// <param name="reload">After a failed write, reads the state back as stored (memory holds changes the store does not).</param>
/// <param name="writeFailed">Told of a failed write, before the reload (to log it, to drop what was derived from the state).</param>
/// <param name="deactivate">When the reload fails too: the grain must not go on with state the store does not hold.</param>
internal sealed class GroupCommit<TChange>(
    Func<IReadOnlyList<TChange>, bool> apply,
    Func<Task> write,
    Func<Task> reload,
    Action<Exception> writeFailed,
    Action deactivate)
{
    private readonly SemaphoreSlim _writer = new(1, 1);
    private List<Pending> _waiting = [];

    /// <summary>Completes once a write holding <paramref name="change"/> succeeded (or it changed nothing).</summary>
    public async Task SubmitAsync(TChange change)
    {
        var pending = new Pending(change);
        _waiting.Add(pending);
        await _writer.WaitAsync();
        try
        {
            // An earlier writer may have taken this change into its group already.
            if (!pending.Done.Task.IsCompleted)
            {
                await CommitAsync();
            }
        }
        finally
        {
            _writer.Release();
        }

        await pending.Done.Task;
    }

    private async Task CommitAsync()
    {
        var group = _waiting;
        _waiting = [];
        try
        {
            if (apply(group.Select(p => p.Change).ToArray()))
            {
                await write();
            }
        }
        catch (Exception e)
        {
            writeFailed(e);
            try
            {
                await reload();
            }
            catch (Exception)
            {
                deactivate();
            }

            foreach (var pending in group)
            {
                pending.Done.TrySetException(e);
            }

            return;
        }

        foreach (var pending in group)
        {
            pending.Done.TrySetResult();
        }
    }

    private sealed record Pending(TChange Change)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
