using System.Reflection;
using System.Text.Json;
using ControlPlane.Grains.Fleet;
using ControlPlane.Server.Diagnostics;
using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>
/// Grain state stored today must read back after every later change: each golden payload (<see cref="GoldenPayloads"/>)
/// is read with the product's grain-storage serializer and must hold exactly its values, so a renamed type or property or
/// a renumbered enum member fails here before it loses a stored row.
/// </summary>
public sealed class GoldenPayloadTests
{
    public static TheoryData<string> Payloads => new(GoldenPayloads.All.Select(p => p.Path));

    public static TheoryData<string> CurrentPayloads => new(GoldenPayloads.All.Where(p => p.Current).Select(p => p.Path));

    [Theory]
    [MemberData(nameof(Payloads))]
    public void GoldenPayload_ReadWithTheProductsSerializer_HoldsItsValues(string path)
    {
        var golden = GoldenPayloads.All.Single(p => p.Path == path);
        var payload = StoredShapes.ReadOrWriteOnce(golden.Path, () => StoredShapes.Serialize(golden.Holds()));
        var type = golden.StateType;

        using (var json = JsonDocument.Parse(payload))
        {
            Assert.Equal($"{type.FullName}, {type.Assembly.GetName().Name}", json.RootElement.GetProperty("$type").GetString());
        }

        StoredShapes.AssertEquivalent(golden.Holds(), StoredShapes.Deserialize(type, payload));
    }

    [Theory]
    [MemberData(nameof(CurrentPayloads))]
    public void CurrentShape_WrittenToday_SetsEveryPropertyAndReadsBackEqual(string path)
    {
        var state = GoldenPayloads.All.Single(p => p.Path == path).Holds();

        Assert.Empty(StoredShapes.UnsetProperties(state));
        StoredShapes.AssertEquivalent(state, StoredShapes.Deserialize(state.GetType(), StoredShapes.Serialize(state)));
    }

    [Fact]
    public void EveryStoredStateType_HasOneCurrentGoldenPayload()
    {
        var (written, readOnly) = StoredStateTypes();

        Assert.Contains(typeof(NodeState), written);
        Assert.Contains(typeof(StateWriteBaselineState), written);
        Assert.All(written, type => Assert.True(
            GoldenPayloads.All.Count(p => p.Current && p.StateType == type) == 1,
            $"{type} is grain state: it needs one current golden payload in GoldenPayloads (docs/architecture.md, \"Changing a stored shape\")."));
        Assert.All(readOnly, type => Assert.True(
            GoldenPayloads.All.Any(p => p.StateType == type),
            $"{type} looks like stored state: it needs a golden payload in GoldenPayloads (docs/architecture.md, \"Changing a stored shape\")."));
    }

    [Fact]
    public void EveryGoldenFile_IsAGoldenPayload()
    {
        var project = RepoPaths.Combine("tests", StoredShapes.ProjectFolder);
        var files = Directory.EnumerateFiles(project, "*.json", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(project, f).Replace('\\', '/'))
            .Where(f => f.Split('/') is [_, "Golden", _]);

        Assert.Equal(files.Order(StringComparer.Ordinal), GoldenPayloads.All.Select(p => p.Path).Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The types grains store: those of <c>IPersistentState&lt;T&gt;</c> constructor parameters and <c>Grain&lt;T&gt;</c> bases in
    /// the grain and server assemblies (written today), and any other serializable <c>*State</c> class of the grains (read only).
    /// </summary>
    private static (HashSet<Type> Written, HashSet<Type> ReadOnly) StoredStateTypes()
    {
        var written = new HashSet<Type>();
        foreach (var grain in new[] { typeof(NodeGrain).Assembly, typeof(StateWriteBaselineGrain).Assembly }
                     .SelectMany(a => a.GetTypes())
                     .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(Grain).IsAssignableFrom(t)))
        {
            foreach (var parameter in grain.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance).SelectMany(c => c.GetParameters()))
            {
                if (parameter.ParameterType is { IsGenericType: true } p && p.GetGenericTypeDefinition() == typeof(IPersistentState<>))
                {
                    written.Add(p.GetGenericArguments()[0]);
                }
            }

            for (var type = grain.BaseType; type is not null; type = type.BaseType)
            {
                if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Grain<>))
                {
                    written.Add(type.GetGenericArguments()[0]);
                }
            }
        }

        var readOnly = typeof(NodeGrain).Assembly.GetTypes()
            .Where(t => t.IsClass && t.Name.EndsWith("State", StringComparison.Ordinal) && t.IsDefined(typeof(GenerateSerializerAttribute)))
            .Where(t => !written.Contains(t))
            .ToHashSet();
        return (written, readOnly);
    }
}
