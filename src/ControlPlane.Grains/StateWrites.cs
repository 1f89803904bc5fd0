using Microsoft.Extensions.Logging;

namespace ControlPlane.Grains;

/// <summary>
/// The write rule of every grain: memory never believes a write that failed. A grain changes its state in memory, then
/// writes it; when the write fails (or its outcome is unknown), the state is read back as storage holds it, and the
/// caller gets the error. So a retry finds the change not made and makes it again, and nothing the store does not hold
/// outlives the failure (a write that did land before failing is read back, and the retry finds it made). Whatever a
/// grain derives from its state is rebuilt after the reload (<c>reloaded</c>). When even the read fails, the activation
/// is dropped: the next one starts from the store.
/// </summary>
internal static partial class StateWrites
{
    /// <summary>Writes the state; if that fails, reloads it (see <see cref="ReloadAsync"/>) and rethrows the write's error.</summary>
    /// <param name="reloaded">Rebuilds what the grain derives from the state, after a reload.</param>
    public static async Task WriteOrReloadAsync<TState>(this IPersistentState<TState> state, IGrainBase grain, ILogger logger, Action? reloaded = null)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception e)
        {
            await state.ReloadAsync(grain, logger, e, reloaded);
            throw;
        }
    }

    /// <summary>
    /// After a change that was not stored (a failed write, or a change given up half-way: <paramref name="cause"/>),
    /// puts the state in memory back to what storage holds and calls <paramref name="reloaded"/>. If that fails too,
    /// deactivates the grain rather than go on with what the store may not hold. Never throws: both are logged.
    /// </summary>
    public static async Task ReloadAsync<TState>(
        this IPersistentState<TState> state, IGrainBase grain, ILogger logger, Exception? cause = null, Action? reloaded = null)
    {
        var grainId = grain.GrainContext.GrainId;
        LogNotStored(logger, grainId, cause);
        try
        {
            await state.ReadStateAsync();
            reloaded?.Invoke();
        }
        catch (Exception e)
        {
            LogReloadFailed(logger, grainId, e);
            grain.GrainContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationError, e, "The state could not be read back after a change that was not stored."));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A change to the state of {GrainId} was not stored; reading back what storage holds")]
    private static partial void LogNotStored(ILogger logger, GrainId grainId, Exception? exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "The state of {GrainId} could not be read back after a change that was not stored; deactivating it")]
    private static partial void LogReloadFailed(ILogger logger, GrainId grainId, Exception exception);
}
