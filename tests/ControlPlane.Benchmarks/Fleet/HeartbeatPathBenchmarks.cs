using BenchmarkDotNet.Attributes;
using ControlPlane.Domain.Fleet;
using ControlPlane.Server.Auth;

namespace ControlPlane.Benchmarks.Fleet;

/// <summary>
/// The CPU a heartbeat of an 8-GPU node costs the control plane outside Orleans and HTTP: verifying the
/// node token, judging the sequence, normalising the inventory and comparing it with the stored one
/// (the comparison decides whether anything is written).
/// </summary>
[MemoryDiagnoser]
public class HeartbeatPathBenchmarks
{
    private TokenService _tokens = null!;
    private string _nodeToken = null!;
    private GpuReading[] _readings = null!;
    private IReadOnlyList<GpuSlot> _stored = null!;

    [GlobalSetup]
    public void Setup()
    {
        _tokens = new TokenService("benchmark-operator-token", null, "benchmark");
        _nodeToken = _tokens.Issue(Roles.Node, "gpu-node-0001", Guid.NewGuid().ToString("N"), DateTimeOffset.UnixEpoch);
        _readings = Enumerable.Range(0, 8)
            .Select(i => new GpuReading(i, $"GPU-{i:D8}-6356-7dac-00e7-e799b0205aa2", "NVIDIA H100 80GB HBM3", 81559, 1024 * i, 40 + i, 50 + i, 300.5 + i, 0))
            .ToArray();
        _stored = GpuInventory.ToSlots(_readings);
    }

    [Benchmark]
    public TokenIdentity? VerifyNodeToken() => _tokens.Verify(_nodeToken, DateTimeOffset.UnixEpoch);

    [Benchmark]
    public SequenceVerdict JudgeSequence() => HeartbeatSequence.Judge("session", 41, "session", 42);

    [Benchmark]
    public bool InventoryUnchanged() => GpuInventory.SameInventory(GpuInventory.ToSlots(_readings), _stored);

    [Benchmark]
    public string ResolveSku() => GpuSkuCatalog.Resolve("NVIDIA H100 80GB HBM3", 81559);
}
