using System.Collections;
using System.Reflection;
using ControlPlane.Server.Hosting;
using ControlPlane.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using Xunit;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>
/// How grain state is stored, for golden payloads: the serializer Orleans' ADO.NET grain storage is given by the
/// product's own silo set-up (<see cref="OrleansHosting.AddControlPlaneSilo"/> in PostgreSQL mode), and a comparison of
/// stored shapes property by property.
/// </summary>
public static class StoredShapes
{
    // The host is built, never started: the storage options it resolves are the ones a running silo's storage gets.
    // It stays alive with the serializer, whose converters may reach the host's services.
    private static readonly Lazy<IHost> LazyHost = new(ProductSilo);
    private static readonly Lazy<IGrainStorageSerializer> LazySerializer = new(ProductSerializer);

    /// <summary>An instant as written in a golden payload's expected values, e.g. <c>At("2026-12-01T10:11:12.5+00:00")</c>.</summary>
    public static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The serializer that writes and reads the <c>PayloadBinary</c> of grain-state rows.</summary>
    public static IGrainStorageSerializer Serializer => LazySerializer.Value;

    public static byte[] Serialize(object state) => Serialize(state.GetType(), state);

    public static object Deserialize(Type stateType, byte[] payload) =>
        Invoke(nameof(DeserializeAs), stateType, [payload]) ?? throw new InvalidOperationException($"The payload read back as null, not {stateType}.");

    private static byte[] Serialize(Type stateType, object state) => (byte[])Invoke(nameof(SerializeAs), stateType, [state])!;

    private static byte[] SerializeAs<T>(object state) => Serializer.Serialize((T)state).ToArray();

    private static object? DeserializeAs<T>(byte[] payload) => Serializer.Deserialize<T>(new BinaryData(payload));

    private static object? Invoke(string method, Type stateType, object[] arguments)
    {
        try
        {
            return typeof(StoredShapes).GetMethod(method, BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(stateType).Invoke(null, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    /// <summary>The services of the product's silo (PostgreSQL mode), built and never started.</summary>
    public static IServiceProvider ProductServices => LazyHost.Value.Services;

    private static IHost ProductSilo()
    {
        var settings = ControlPlaneSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = "Host=localhost;Database=golden-payloads",
        }).Build());
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.AddControlPlaneSilo(settings);
        return builder.Build();
    }

    private static IGrainStorageSerializer ProductSerializer()
    {
        var options = ProductServices.GetRequiredService<IOptionsMonitor<AdoNetGrainStorageOptions>>().Get(OrleansHosting.StorageName);
        return options.GrainStorageSerializer ?? throw new InvalidOperationException("The product's ADO.NET grain storage has no serializer.");
    }

    public const string ProjectFolder = "ControlPlane.Grains.Tests";

    /// <summary>
    /// A committed golden payload (<paramref name="path"/> relative to this test project). One not there yet is written
    /// once into the source tree, from <paramref name="write"/>, and the test fails: review it, commit it, run again.
    /// </summary>
    public static byte[] ReadOrWriteOnce(string path, Func<byte[]> write)
    {
        var built = Path.Combine(AppContext.BaseDirectory, path);
        if (File.Exists(built))
        {
            return File.ReadAllBytes(built);
        }

        var source = RepoPaths.Combine("tests", ProjectFolder, path);
        Assert.False(File.Exists(source), $"{source} is not in the build output: rebuild.");
        Directory.CreateDirectory(Path.GetDirectoryName(source)!);
        File.WriteAllBytes(source, write());
        Assert.Fail($"{source} did not exist: written once from its golden values. Review it, commit it and run again.");
        return [];
    }

    /// <summary>The stored properties of a state type: what the serializer writes and reads back (public, with a setter or init).</summary>
    public static IEnumerable<PropertyInfo> StoredProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.CanRead && p.CanWrite)
            .OrderBy(p => p.MetadataToken);

    /// <summary>Asserts that <paramref name="actual"/> holds what <paramref name="expected"/> holds, property by property, all the way down.</summary>
    public static void AssertEquivalent(object expected, object? actual)
    {
        var differences = new List<string>();
        Compare(expected, actual, expected.GetType().Name, differences);
        Assert.True(differences.Count == 0, "Read back differently:" + string.Concat(differences.Select(d => Environment.NewLine + "  " + d)));
    }

    /// <summary>
    /// The stored properties (<c>Type.Property</c>) of the types in <paramref name="state"/> that hold their type's default
    /// (null, zero, false, an enum's zero, an empty collection) everywhere they occur: a golden payload of today's shape
    /// sets each at least once, so that a renamed property or a renumbered enum member cannot read back as the value it had.
    /// </summary>
    public static List<string> UnsetProperties(object state)
    {
        var set = new Dictionary<string, bool>(StringComparer.Ordinal);
        Visit(state, set);
        return [.. set.Where(p => !p.Value).Select(p => p.Key)];
    }

    private static void Compare(object? expected, object? actual, string path, List<string> differences)
    {
        if (expected is null || actual is null)
        {
            if (expected is not null || actual is not null)
            {
                differences.Add($"{path}: expected {Show(expected)}, read {Show(actual)}");
            }

            return;
        }

        var type = expected.GetType();
        if (type != actual.GetType())
        {
            differences.Add($"{path}: expected a {type}, read a {actual.GetType()}");
        }
        else if (IsScalar(type))
        {
            // An offset is kept as stored, not only the instant.
            if (!expected.Equals(actual) || (expected is DateTimeOffset e && e.Offset != ((DateTimeOffset)actual).Offset))
            {
                differences.Add($"{path}: expected {Show(expected)}, read {Show(actual)}");
            }
        }
        else if (expected is IDictionary expectedMap)
        {
            var actualMap = (IDictionary)actual;
            foreach (var key in actualMap.Keys.Cast<object>().Where(k => !expectedMap.Contains(k)))
            {
                differences.Add($"{path}[{key}]: not expected, read {Show(actualMap[key])}");
            }

            foreach (DictionaryEntry entry in expectedMap)
            {
                if (actualMap.Contains(entry.Key))
                {
                    Compare(entry.Value, actualMap[entry.Key], $"{path}[{entry.Key}]", differences);
                }
                else
                {
                    differences.Add($"{path}[{entry.Key}]: missing");
                }
            }
        }
        else if (expected is IEnumerable expectedItems)
        {
            var expectedList = expectedItems.Cast<object?>().ToList();
            var actualList = ((IEnumerable)actual).Cast<object?>().ToList();
            if (expectedList.Count != actualList.Count)
            {
                differences.Add($"{path}: expected {expectedList.Count} items, read {actualList.Count}");
            }

            for (var i = 0; i < Math.Min(expectedList.Count, actualList.Count); i++)
            {
                Compare(expectedList[i], actualList[i], $"{path}[{i}]", differences);
            }
        }
        else
        {
            foreach (var property in StoredProperties(type))
            {
                Compare(property.GetValue(expected), property.GetValue(actual), $"{path}.{property.Name}", differences);
            }
        }
    }

    private static void Visit(object value, Dictionary<string, bool> set)
    {
        var type = value.GetType();
        if (IsScalar(type))
        {
            return;
        }

        if (value is IDictionary map)
        {
            foreach (var item in map.Values)
            {
                if (item is not null)
                {
                    Visit(item, set);
                }
            }
        }
        else if (value is IEnumerable items)
        {
            foreach (var item in items)
            {
                if (item is not null)
                {
                    Visit(item, set);
                }
            }
        }
        else
        {
            foreach (var property in StoredProperties(type))
            {
                var key = $"{type.Name}.{property.Name}";
                var propertyValue = property.GetValue(value);
                set[key] = (set.TryGetValue(key, out var before) && before) || !IsDefault(propertyValue);
                if (propertyValue is not null)
                {
                    Visit(propertyValue, set);
                }
            }
        }
    }

    private static bool IsDefault(object? value) => value switch
    {
        null or "" => true,
        ICollection collection => collection.Count == 0,
        _ when value.GetType().IsValueType => value.Equals(Activator.CreateInstance(value.GetType())),
        _ => false,
    };

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(DateTimeOffset) ||
        type == typeof(DateTime) || type == typeof(DateOnly) || type == typeof(TimeOnly) || type == typeof(TimeSpan) || type == typeof(Guid);

    private static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        Enum e => $"{e} ({Convert.ToInt64(e, System.Globalization.CultureInfo.InvariantCulture)})",
        DateTimeOffset d => d.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? value.GetType().Name,
    };
}
