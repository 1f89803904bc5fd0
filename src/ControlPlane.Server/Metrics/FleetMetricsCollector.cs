using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Fleet;
using ControlPlane.Contracts.Pools;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Pools;
using ControlPlane.Server.Api.Fleet;
using ControlPlane.Server.Api.Partners;

namespace ControlPlane.Server.Metrics;

/// <summary>
/// Refreshes the fleet gauges from the pool grains and the scheduler on a timer. Every silo reports the same cluster-wide
/// view (aggregate with <c>max by</c>, not <c>sum</c>); the cost is one call per region per period. The scheduler summary
/// also feeds the console's <see cref="CapacityHistory"/>.
/// </summary>
public sealed partial class FleetMetricsCollector(
    IGrainFactory grains,
    ControlPlaneMetrics metrics,
    PartnerCache partners,
    CapacityHistory history,
    TimeProvider time,
    IConfiguration configuration,
    IHostApplicationLifetime lifetime,
    ILogger<FleetMetricsCollector> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Grain calls before the silo has joined its cluster only produce placement warnings.
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        var period = TimeSpan.FromSeconds(Math.Max(1, configuration.GetValue("Metrics:FleetRefreshSeconds", 10)));
        using var timer = new PeriodicTimer(period);
        do
        {
            try
            {
                var regions = await grains.GetGrain<IFleetDirectoryGrain>(GrainKeys.FleetDirectory).ListRegionsAsync();
                var totals = await Task.WhenAll(regions.Select(r => grains.GetGrain<IPoolGrain>(GrainKeys.Pool(r)).GetTotalsAsync()));
                metrics.UpdateFleet(totals);
                var scheduler = grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler);
                var summary = await scheduler.GetSummaryAsync();
                metrics.UpdateScheduler(summary);
                history.Record(time.GetUtcNow(), summary);
                var partnerList = await partners.GetAsync();
                var plan = SharingPlan.Compute(await scheduler.ListDemandAsync(), partnerList);
                metrics.UpdateSharing(new ControlPlaneMetrics.SharingFigures(
                    plan.SlackTokens(DeploymentClass.Serverless),
                    plan.SlackTokens(DeploymentClass.Batch),
                    plan.PartnerTokens(DeploymentClass.Serverless),
                    plan.PartnerTokens(DeploymentClass.Batch),
                    partnerList.Sum(p => p.CapacityTokensPerSecond)));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The silo may still be joining the cluster; the next tick tries again.
                LogRefreshFailed(e.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Fleet metrics refresh failed: {Reason}")]
    private partial void LogRefreshFailed(string reason);
}
