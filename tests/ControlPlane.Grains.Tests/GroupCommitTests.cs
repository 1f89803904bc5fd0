using ControlPlane.Grains.Tests.Storage;
using Xunit;

namespace ControlPlane.Grains.Tests;

/// <summary>
/// <see cref="GroupCommit{TChange, TResult}"/> over a store that fails on demand: counters in memory, the copy the store
/// holds, and writes that can be held open so that changes queue behind them. Run on one thread at a time, as in a grain.
/// </summary>
public sealed class GroupCommitTests
{
    private readonly FlakyStore _store = new();
    private readonly GroupCommit<(string Key, int Add), int> _commit;

    public GroupCommitTests() => _commit = new(Apply, _store.WriteAsync, _store.ReloadAsync);

    [Fact]
    public Task SubmitAsync_ChangesThatArriveDuringAWrite_ShareTheNextWriteAndEachGetsItsOwnAnswer() => OnOneThread(async () =>
    {
        var hold = _store.HoldNextWrite();
        var first = _commit.SubmitAsync(("a", 1));
        var waiting = new[] { _commit.SubmitAsync(("a", 10)), _commit.SubmitAsync(("b", 5)), _commit.SubmitAsync(("a", 100)) };
        hold.SetResult();

        Assert.Equal(1, await first);
        Assert.Equal(new[] { 11, 5, 111 }, await Task.WhenAll(waiting));
        Assert.Equal(2, _store.Writes);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 111, ["b"] = 5 }, _store.Stored);
    });

    [Fact]
    public Task SubmitAsync_WriteFails_EveryChangeOfItsGroupFailsAndMemoryIsWhatIsStored() => OnOneThread(async () =>
    {
        Assert.Equal(1, await _commit.SubmitAsync(("a", 1)));
        var hold = _store.HoldNextWrite();
        var blocker = _commit.SubmitAsync(("c", 1));
        var group = new[] { _commit.SubmitAsync(("a", 10)), _commit.SubmitAsync(("b", 5)) };
        _store.FailWrites = 2;
        hold.SetResult();

        await Assert.ThrowsAsync<InjectedFault>(() => blocker);
        foreach (var change in group)
        {
            await Assert.ThrowsAsync<InjectedFault>(() => change);
        }

        // Nothing of either group stays in memory: a retry makes the change again.
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1 }, _store.Memory);
        Assert.Equal(11, await _commit.SubmitAsync(("a", 10)));
        Assert.Equal(new Dictionary<string, int> { ["a"] = 11 }, _store.Stored);
    });

    [Fact]
    public Task SubmitAsync_ChangesWaitingBehindAFailedWrite_AreAppliedToTheStoredStateAndWritten() => OnOneThread(async () =>
    {
        Assert.Equal(1, await _commit.SubmitAsync(("a", 1)));
        var hold = _store.HoldNextWrite();
        var failing = _commit.SubmitAsync(("a", 1000));
        var waiting = new[] { _commit.SubmitAsync(("a", 10)), _commit.SubmitAsync(("b", 5)) };
        _store.FailWrites = 1;
        hold.SetResult();

        await Assert.ThrowsAsync<InjectedFault>(() => failing);
        Assert.Equal(new[] { 11, 5 }, await Task.WhenAll(waiting));
        Assert.Equal(new Dictionary<string, int> { ["a"] = 11, ["b"] = 5 }, _store.Stored);
        Assert.Equal(_store.Stored, _store.Memory);
    });

    [Fact]
    public Task SubmitAsync_ApplyThrows_TheWholeGroupFailsAndNoneOfItStays() => OnOneThread(async () =>
    {
        var hold = _store.HoldNextWrite();
        var blocker = _commit.SubmitAsync(("a", 1));
        var good = _commit.SubmitAsync(("b", 5));
        var poison = _commit.SubmitAsync((FlakyStore.Poison, 1));
        hold.SetResult();

        Assert.Equal(1, await blocker);
        await Assert.ThrowsAsync<InvalidOperationException>(() => good);
        await Assert.ThrowsAsync<InvalidOperationException>(() => poison);
        Assert.Equal(new Dictionary<string, int> { ["a"] = 1 }, _store.Memory);
        Assert.Equal(1, _store.Writes);
        Assert.Equal(5, await _commit.SubmitAsync(("b", 5)));
    });

    [Fact]
    public Task SubmitAsync_WriteAndReloadFail_TheChangeFailsWithBothErrors() => OnOneThread(async () =>
    {
        _store.FailWrites = 1;
        _store.FailReads = 1;

        var error = await Assert.ThrowsAsync<AggregateException>(() => _commit.SubmitAsync(("a", 1)));

        Assert.Equal(new[] { "injected write failure", "injected read failure" }, error.InnerExceptions.Select(e => e.Message));
    });

    [Fact]
    public Task SubmitAsync_NothingChanges_NothingIsWritten() => OnOneThread(async () =>
    {
        Assert.Equal(0, await _commit.SubmitAsync(("a", 0)));
        Assert.Equal(0, _store.Writes);
    });

    /// <summary>Adds to a counter; answers its new value. A poison change breaks memory half-way, then throws.</summary>
    private (int, bool Changed) Apply((string Key, int Add) change)
    {
        var value = _store.Memory.GetValueOrDefault(change.Key) + change.Add;
        _store.Memory[change.Key] = value;
        if (change.Key == FlakyStore.Poison)
        {
            throw new InvalidOperationException("a bug in apply");
        }

        return (value, change.Add != 0);
    }

    // A grain runs one piece of its code at a time: so do these tests (GroupCommit relies on it).
    private static readonly TaskScheduler OneAtATime = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;

    private static Task OnOneThread(Func<Task> body) =>
        Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.None, OneAtATime).Unwrap();

    private sealed class FlakyStore
    {
        public const string Poison = "poison";

        private TaskCompletionSource? _hold;

        public Dictionary<string, int> Memory { get; private set; } = [];

        public Dictionary<string, int> Stored { get; private set; } = [];

        public int Writes { get; private set; }

        public int FailWrites { get; set; }

        public int FailReads { get; set; }

        /// <summary>The next write waits until the returned source is set (and then fails if <see cref="FailWrites"/> says so).</summary>
        public TaskCompletionSource HoldNextWrite() => _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task WriteAsync()
        {
            if (_hold is { } hold)
            {
                _hold = null;
                await hold.Task;
            }

            if (FailWrites > 0)
            {
                FailWrites--;
                throw new InjectedFault("injected write failure");
            }

            Stored = new(Memory);
            Writes++;
        }

        public Task ReloadAsync(Exception cause)
        {
            if (FailReads > 0)
            {
                FailReads--;
                throw new InjectedFault("injected read failure");
            }

            Memory = new(Stored);
            return Task.CompletedTask;
        }
    }
}
