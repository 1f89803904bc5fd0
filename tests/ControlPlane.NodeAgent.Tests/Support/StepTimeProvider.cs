using System.Threading.Channels;

namespace ControlPlane.NodeAgent.Tests.Support;

/// <summary>
/// A clock whose timers fire only when a test says so. The test sees every delay the code under test asks
/// for, asserts it exactly, then fires it: no waiting on real time.
/// </summary>
internal sealed class StepTimeProvider : TimeProvider
{
    private readonly Channel<StepTimer> _timers = Channel.CreateUnbounded<StepTimer>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new StepTimer(callback, state, dueTime);
        _timers.Writer.TryWrite(timer);
        return timer;
    }

    /// <summary>The next timer created, waiting for it if none is pending.</summary>
    public async Task<StepTimer> NextTimerAsync() => await _timers.Reader.ReadAsync().AsTask().WaitAsync(TestDeadline.Value, TestContext.Current.CancellationToken);
}

internal sealed class StepTimer(TimerCallback callback, object? state, TimeSpan dueTime) : ITimer
{
    private volatile bool _disposed;

    public TimeSpan DueTime { get; } = dueTime;

    public bool IsDisposed => _disposed;

    /// <summary>Runs the callback on the thread pool, as a real timer would.</summary>
    public void Fire()
    {
        if (!_disposed)
        {
            ThreadPool.QueueUserWorkItem(_ => callback(state));
        }
    }

    public bool Change(TimeSpan dueTime, TimeSpan period) => !_disposed;

    public void Dispose() => _disposed = true;

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
