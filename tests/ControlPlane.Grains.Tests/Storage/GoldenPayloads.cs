using ControlPlane.Grains.Tests.Auth;
using ControlPlane.Grains.Tests.Commits;
using ControlPlane.Grains.Tests.Deployments;
using ControlPlane.Grains.Tests.Diagnostics;
using ControlPlane.Grains.Tests.Fleet;
using ControlPlane.Grains.Tests.Metering;
using ControlPlane.Grains.Tests.Partners;
using ControlPlane.Grains.Tests.Pools;
using ControlPlane.Grains.Tests.Slas;
using ControlPlane.Grains.Tests.Webhooks;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>
/// A golden payload: a grain-state row's payload as the product's grain storage wrote it (<paramref name="Path"/>, a
/// file under an aggregate's <c>Golden/</c> folder, never edited once committed) and the values it holds
/// (<paramref name="Holds"/>, which also gives the state type).
/// </summary>
/// <param name="Path">The file, relative to this test project, e.g. <c>Fleet/Golden/node-state.json</c>.</param>
/// <param name="Holds">The state the payload holds, property by property.</param>
/// <param name="Current">
/// Whether it is the shape today's code writes: then every stored property of <paramref name="Holds"/>, all the way
/// down, holds a value other than its type's default. A payload of an older shape keeps its file and its values
/// (frozen, as they were) and is no longer current.
/// </param>
public sealed record GoldenPayload(string Path, Func<object> Holds, bool Current = true)
{
    public Type StateType => Holds().GetType();

    public override string ToString() => Path;
}

/// <summary>
/// Every golden payload of grain state. A state type that grains persist has exactly one current payload here
/// (<see cref="GoldenPayloadTests.EveryStoredStateType_HasOneCurrentGoldenPayload"/>); docs/architecture.md, "Changing a
/// stored shape", says how to add one.
/// </summary>
public static class GoldenPayloads
{
    public static readonly IReadOnlyList<GoldenPayload> All =
    [
        new("Auth/Golden/join-token-state.json", AuthGoldenPayloads.JoinToken),
        new("Auth/Golden/token-registry-state.json", AuthGoldenPayloads.TokenRegistry),
        new("Commits/Golden/contract-ledger.json", CommitsGoldenPayloads.Contract),
        new("Commits/Golden/contract-alert-state.json", CommitsGoldenPayloads.ContractAlerts),
        new("Commits/Golden/customer-state.json", CommitsGoldenPayloads.Customer),
        new("Commits/Golden/payg-account.json", CommitsGoldenPayloads.PayAsYouGo),
        new("Deployments/Golden/scheduler-state.json", DeploymentsGoldenPayloads.Scheduler),
        new("Deployments/Golden/scheduler-heard-state.json", DeploymentsGoldenPayloads.SchedulerHeard),
        new("Deployments/Golden/deployment-state.json", DeploymentsGoldenPayloads.Deployment),
        new("Diagnostics/Golden/state-write-baseline-state.json", DiagnosticsGoldenPayloads.StateWriteBaseline),
        new("Fleet/Golden/node-state.json", FleetGoldenPayloads.Node),
        new("Fleet/Golden/fleet-directory-state.json", FleetGoldenPayloads.Directory),
        new("Metering/Golden/price-list-state.json", MeteringGoldenPayloads.PriceList),
        // Read only: no code writes this shape any more (buckets keep their totals in IUsageBucketStore).
        new("Metering/Golden/usage-bucket-state.json", MeteringGoldenPayloads.LegacyUsageBucket, Current: false),
        new("Partners/Golden/partner-directory-state.json", PartnersGoldenPayloads.Directory),
        new("Slas/Golden/slo-book.json", SlasGoldenPayloads.SloMeter),
        new("Webhooks/Golden/webhook-state.json", WebhooksGoldenPayloads.Webhooks),
    ];
}
