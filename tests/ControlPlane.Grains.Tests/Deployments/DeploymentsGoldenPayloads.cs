using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Fleet;
using ControlPlane.Grains.Deployments;
using static ControlPlane.Grains.Tests.Storage.StoredShapes;

namespace ControlPlane.Grains.Tests.Deployments;

/// <summary>What the golden payloads of Deployments/Golden/ hold (see <see cref="Storage.GoldenPayloads"/>).</summary>
public static class DeploymentsGoldenPayloads
{
    private static DeploymentSpec Spec(string id, DeploymentClass kind) => new(
        id, "llama-70b", kind, "cust-golden", 2, 80, ["h100-80gb", "h200-141gb"], ["eu-west", "us-east"], 1, 3, 8,
        1234.5678901234567890123456m, 35, "registry.example/vllm:0.9.1");

    public static SchedulerState Scheduler() => new()
    {
        Deployments = new(StringComparer.Ordinal)
        {
            ["d-golden-batch"] = new ScheduledDeployment(Spec("d-golden-batch", DeploymentClass.Batch), 4, 7, 2),
            ["d-golden-serverless"] = new ScheduledDeployment(Spec("d-golden-serverless", DeploymentClass.Serverless), 1, 2, 1),
        },
    };

    public static SchedulerHeardState SchedulerHeard() => new()
    {
        Nodes = new(StringComparer.Ordinal)
        {
            ["gpu-eu-1"] = new HeardNode(At("2026-12-01T10:11:12.1234567+00:00"), "silo-a"),
            ["gpu-eu-2"] = new HeardNode(At("2026-12-01T10:11:13+00:00"), "silo-b"),
        },
    };

    // Recent is a List (what the autoscaler stores): the payload names the runtime type, and the storage reads only types
    // it allows, so an array or a collection expression there would be written but never read back.
    public static DeploymentState Deployment() => new()
    {
        Spec = Spec("d-golden-serverless", DeploymentClass.Serverless),
        Generation = 3,
        Autoscale = new AutoscaleState(
            5, At("2026-12-01T09:00:00+00:00"), 4,
            new List<DemandBucket>
            {
                new DemandBucket(At("2026-12-01T08:59:00+00:00"), 10.000000001m, 2345.6789012345678901234567m),
                new DemandBucket(At("2026-12-01T09:00:00+00:00"), 0.5m, 3000m),
            },
            1.0000000000000000000000000001m, At("2026-12-01T08:30:00.5+00:00"), 2.5m, At("2026-11-30T00:00:00+00:00")),
        CreatedAt = At("2026-11-29T15:16:17.189+00:00"),
        LoadTime = TimeSpan.FromMilliseconds(93_250.5),
        LastLoadReplicaId = "d-golden-serverless-2-g3",
    };
}
