using System.Data.Common;
using ControlPlane.Contracts;

namespace ControlPlane.Server.Storage;

/// <summary>
/// Storage failures at the grain boundary. The ADO.NET providers let the driver's exception through (Orleans wraps it
/// in an <see cref="OrleansException"/> with the driver's exception inside), and another silo cannot deserialize a
/// driver type: a call that crossed silos failed with a serializer error (a 500) instead of the storage failure. So
/// grain storage throws <see cref="StorageUnavailableException"/> (<see cref="TranslatingGrainStorage"/>), and this
/// filter, on every silo, turns any other exception of a grain call that has a database failure inside (a reminder
/// table that did not answer) into one.
/// </summary>
public sealed class StorageFailures : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception e) when (e is not StorageUnavailableException && Find(e) is DbException failure)
        {
            throw Translate(failure, $"{context.InterfaceName}.{context.MethodName}");
        }
    }

    /// <summary>Our own exception for a database failure: its message, and nothing of the driver's types.</summary>
    public static StorageUnavailableException Translate(Exception failure, string operation) =>
        new($"Grain storage failed during {operation}: {failure.GetType().Name}: {failure.Message}");

    /// <summary>
    /// The storage failure inside <paramref name="exception"/> (itself, an inner one or one of an aggregate): a database
    /// exception or a <see cref="StorageUnavailableException"/>; null when there is none.
    /// </summary>
    public static Exception? Find(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < 16; depth++)
        {
            switch (exception)
            {
                case DbException or StorageUnavailableException:
                    return exception;
                case AggregateException aggregate:
                    return aggregate.InnerExceptions.Select(Find).FirstOrDefault(f => f is not null);
                default:
                    exception = exception.InnerException;
                    break;
            }
        }

        return null;
    }
}
