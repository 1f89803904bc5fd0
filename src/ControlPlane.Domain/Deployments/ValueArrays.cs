namespace ControlPlane.Domain.Deployments;

/// <summary>
/// Element-wise equality for the arrays that stored records carry: a record compares array properties by
/// reference, which would make two equal specs or claims unequal after a round trip through storage.
/// </summary>
internal static class ValueArrays
{
    public static bool Equal<T>(T[]? a, T[]? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.AsSpan().SequenceEqual(b, EqualityComparer<T>.Default));

    public static void Add<T>(ref HashCode hash, T[]? values)
    {
        if (values is null)
        {
            hash.Add(-1);
            return;
        }

        hash.Add(values.Length);
        foreach (var value in values)
        {
            hash.Add(value);
        }
    }
}
