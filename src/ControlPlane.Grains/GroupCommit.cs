namespace ControlPlane.Grains;

/// <summary>
/// Group commit for a reentrant grain: changes that arrive while a write is in flight wait, and the next write takes all
/// of them. So a record that grows with the fleet (a region's nodes, the directory of all nodes), rewritten whole by
/// every write, is written once per group of changes, not once per change; and a usage bucket, which writes only what a
/// group adds, makes one database round trip per group.
/// <para>
/// Changes are applied one at a time, in arrival order, each to the state as the changes before it left it, and only
/// here: two changes never interleave, and none is applied while a write is in flight. A change is answered (with what
/// <c>apply</c> said of it) only once a write that holds it succeeded. When applying or writing fails, the state is read
/// back as stored (<see cref="StateWrites.ReloadAsync"/>) and every change of the group fails with the error: their
/// senders retry, and find the state without them. Changes that waited meanwhile go into the next group, applied to the
/// state as reloaded.
/// </para>
/// </summary>
/// <param name="apply">Applies one change to the state in memory: the change's answer, and whether the state changed (a group that changed nothing is not written).</param>
/// <param name="write">Writes the state.</param>
/// <param name="reload">After a failed group (the error given), puts the state back to what storage holds; see <see cref="StateWrites.ReloadAsync"/>.</param>
/// <param name="prepare">Runs before a group is applied, with its changes (for a grain that reads part of its state only
/// when a change needs it); when it fails, the group fails as when its write fails.</param>
internal sealed class GroupCommit<TChange, TResult>(
    Func<TChange, (TResult Result, bool Changed)> apply,
    Func<Task> write,
    Func<Exception, Task> reload,
    Func<IReadOnlyList<TChange>, Task>? prepare = null)
{
    private readonly SemaphoreSlim _writer = new(1, 1);
    private List<Pending> _waiting = [];

    /// <summary>The answer to <paramref name="change"/>, once a write holding it succeeded (or it changed nothing).</summary>
    public async Task<TResult> SubmitAsync(TChange change)
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

        return await pending.Done.Task;
    }

    private async Task CommitAsync()
    {
        var group = _waiting;
        _waiting = [];
        var results = new TResult[group.Count];
        try
        {
            if (prepare is not null)
            {
                await prepare(group.ConvertAll(p => p.Change));
            }

            var changed = false;
            for (var i = 0; i < group.Count; i++)
            {
                (results[i], var one) = apply(group[i].Change);
                changed |= one;
            }

            if (changed)
            {
                await write();
            }
        }
        catch (Exception e)
        {
            Exception error = e;
            try
            {
                await reload(e);
            }
            catch (Exception reloadError)
            {
                error = new AggregateException(e, reloadError);
            }

            foreach (var pending in group)
            {
                pending.Done.TrySetException(error);
            }

            return;
        }

        for (var i = 0; i < group.Count; i++)
        {
            group[i].Done.TrySetResult(results[i]);
        }
    }

    private sealed record Pending(TChange Change)
    {
        public TaskCompletionSource<TResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
