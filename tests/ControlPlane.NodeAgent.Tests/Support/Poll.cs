namespace ControlPlane.NodeAgent.Tests.Support;

/// <summary>Waits for a condition with a deadline instead of sleeping a guessed time.</summary>
internal static class Poll
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    /// <summary>Returns as soon as <paramref name="done"/> holds; fails the test when it does not within <see cref="TestDeadline.Value"/>.</summary>
    public static async Task UntilAsync(Func<bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TestDeadline.Value;
        while (!done())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {TestDeadline.Value.TotalSeconds:0} s waiting for {what}");
            }

            await Task.Delay(Interval, TestContext.Current.CancellationToken);
        }
    }
}
