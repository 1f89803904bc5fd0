namespace ControlPlane.Contracts;

/// <summary>
/// Grain storage (PostgreSQL) did not answer: nothing that needed it was done, and the same request may be retried.
/// Grain storage and a grain call filter on every silo throw this in place of the storage driver's own exceptions, so
/// that the failure crosses silos as a type every silo can read; the API answers it with a 503. An
/// <see cref="OrleansException"/>, like the failures of a call that grains already retry.
/// </summary>
[GenerateSerializer, Alias("storage-unavailable")]
public sealed class StorageUnavailableException : OrleansException
{
    public StorageUnavailableException()
        : this("Grain storage is unavailable.")
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
