using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Domain.Placement;
using ControlPlane.Grains.Fleet;
using static ControlPlane.Grains.Tests.Storage.StoredShapes;

namespace ControlPlane.Grains.Tests.Fleet;

/// <summary>What the golden payloads of Fleet/Golden/ hold (see <see cref="Storage.GoldenPayloads"/>).</summary>
public static class FleetGoldenPayloads
{
    public static NodeState Node() => new()
    {
        Terms = new NodeTerms("gpu-eu-1", "eu-west", "lambda", Ownership.Rented, 3.141592653589793238462643383m,
            At("2026-11-28T10:00:01.5+00:00"), "idem-golden-1"),
        TokenId = "tok-node-1",
        TokenIssuedAt = At("2026-11-28T10:00:01.5+00:00"),
        Health = NodeHealth.Down,
        Scheduling = NodeScheduling.Draining,
        Gpus =
        [
            new GpuSlot(1, "GPU-0b1c2d3e-golden-1", "NVIDIA H100 80GB HBM3", 81_559, "h100-80gb", true),
            new GpuSlot(2, "GPU-0b1c2d3e-golden-2", "NVIDIA H100 80GB HBM3", 81_559, "h100-80gb", true),
            new GpuSlot(3, "GPU-0b1c2d3e-golden-3", "NVIDIA H100 80GB HBM3", 81_559, "h100-80gb", true),
        ],
        LastHeartbeatAt = At("2026-12-01T10:11:12.1234567+00:00"),
        AgentVersion = "1.4.2+golden",
        InventoryError = "nvidia-smi exited with 9",
        CapacityVersion = 17,
        // A free GPU is a null holder: the one null the golden payload holds.
        Slots = new NodeSlots([
            new GpuHolder("d-golden-0-g3", "d-golden", ReplicaTier.Reserved),
            null,
            new GpuHolder("d-golden-batch-1-g7", "d-golden-batch", ReplicaTier.Burst),
        ]),
        Replicas =
        [
            new PlacedReplica("d-golden-0-g3", "d-golden", "llama-70b", 1, 3, ReplicaTier.Reserved, [1], ReplicaState.Failed, "registry.example/vllm:0.9.1"),
            new PlacedReplica("d-golden-batch-1-g7", "d-golden-batch", "mistral-7b", 2, 7, ReplicaTier.Serverless, [3], ReplicaState.Ready, "registry.example/vllm:0.9.0"),
        ],
        PlacementVersion = 23,
        WarmModels = [new WarmModel("llama-70b", 140_000_000_001), new WarmModel("mistral-7b", 14_500_000_000)],
        CacheFreeBytes = 512_000_000_000,
        Prefetch = ["qwen-72b"],
        PrefetchFailures = [new PrefetchFailure("deepseek-v3", 3, "disk full")],
        Sleeping = [new SleepingEngine("d-golden-2", "llama-8b", [2], 16_000_000_000, Batch: true)],
        SleepBudgetBytes = 64_000_000_000,
    };

    public static FleetDirectoryState Directory() => new()
    {
        Nodes = new(StringComparer.Ordinal) { ["gpu-eu-1"] = "eu-west", ["gpu-us-1"] = "us-east" },
    };
}
