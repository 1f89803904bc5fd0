using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Domain.Deployments;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Deployments;

/// <summary>
/// One deployment: its spec, its demand and its autoscaling. Demand signals stop here; the scheduler hears of a
/// deployment only when its desired replica count or its demand changes. A pending scale-down is watched by a
/// timer, because without a new signal nothing else would notice that the delay has passed.
/// </summary>
public sealed partial class DeploymentGrain(
    [PersistentState("deployment", "store")] IPersistentState<DeploymentState> state,
    IOptions<CapacityOptions> options,
    TimeProvider time,
    ILogger<DeploymentGrain> logger) : Grain, IDeploymentGrain
{
    private readonly Autoscaler _autoscaler = new(
        TimeSpan.FromSeconds(options.Value.ScaleDownDelaySeconds),
        options.Value.ForecastHorizonSeconds > 0 ? Forecast.For(TimeSpan.FromSeconds(options.Value.ForecastHorizonSeconds)) : null);
    private IGrainTimer? _scaleDownTimer;

    // The last demand seen and the autoscaler's live state: stored only when the desired count changes.
    private decimal _demand;
    private AutoscaleState? _autoscale;

    private DeploymentState S => state.State;

    private ISchedulerGrain Scheduler => GrainFactory.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _autoscale = S.Autoscale;
        return Task.CompletedTask;
    }

    public async Task<DeploymentCommandResult> CreateAsync(DeploymentSpec spec)
    {
        if (S.Spec is not null)
        {
            return S.Spec.Equals(spec)
                ? new DeploymentCommandResult(DeploymentCommandStatus.Done, await ViewAsync())
                : new DeploymentCommandResult(DeploymentCommandStatus.Conflict, await ViewAsync());
        }

        var autoscale = Autoscaler.Start(spec);
        var admission = await Scheduler.AdmitAsync(new ScheduledDeployment(spec, autoscale.Desired, 1));
        if (admission != AdmissionResult.Admitted)
        {
            return new DeploymentCommandResult(DeploymentCommandStatus.Refused, null);
        }

        S.Spec = spec;
        S.Generation = 1;
        S.Autoscale = _autoscale = autoscale;
        S.CreatedAt = time.GetUtcNow();
        await state.WriteStateAsync();
        LogCreated(spec.DeploymentId, spec.Class, spec.ReservedReplicas, spec.MaxReplicas);
        return new DeploymentCommandResult(DeploymentCommandStatus.Done, await ViewAsync());
    }

    public async Task<DeploymentView?> GetAsync() => S.Spec is null ? null : await ViewAsync();

    public async Task<DeploymentCommandResult> ReportDemandAsync(decimal tokensPerSecond)
    {
        if (S.Spec is null)
        {
            return new DeploymentCommandResult(DeploymentCommandStatus.NotFound, null);
        }

        var demandChanged = tokensPerSecond != _demand;
        _demand = tokensPerSecond;
        await ScaleAsync(demandChanged);
        return new DeploymentCommandResult(DeploymentCommandStatus.Done, null);
    }

    public async Task<DeploymentCommandResult> MigrateAsync(DeploymentSpec spec)
    {
        if (S.Spec is null)
        {
            return new DeploymentCommandResult(DeploymentCommandStatus.NotFound, null);
        }

        if (!S.Spec.Equals(spec))
        {
            var desired = (_autoscale ?? Autoscaler.Start(spec)).Desired;
            var admission = await Scheduler.AdmitAsync(new ScheduledDeployment(spec, desired, S.Generation + 1));
            if (admission == AdmissionResult.Refused)
            {
                return new DeploymentCommandResult(DeploymentCommandStatus.Refused, await ViewAsync());
            }

            S.Spec = spec;
            S.Generation++;
            await state.WriteStateAsync();
            LogMigrating(spec.DeploymentId, S.Generation, spec.Model, spec.GpusPerReplica);
        }

        return new DeploymentCommandResult(DeploymentCommandStatus.Done, await ViewAsync());
    }

    public async Task<bool> DeleteAsync()
    {
        if (S.Spec is null)
        {
            return false;
        }

        var id = S.Spec.DeploymentId;
        await Scheduler.RemoveAsync(id);
        await state.ClearStateAsync();
        state.State = new DeploymentState();
        _autoscale = null;
        _demand = 0;
        _scaleDownTimer?.Dispose();
        _scaleDownTimer = null;
        LogDeleted(id);
        return true;
    }

    /// <summary>Runs the autoscaler on the last demand; tells the scheduler when the desired count (or the demand) changed.</summary>
    private async Task ScaleAsync(bool demandChanged)
    {
        var spec = S.Spec!;
        var before = _autoscale ?? Autoscaler.Start(spec);
        var next = _autoscaler.Next(before, spec, _demand, time.GetUtcNow());
        _autoscale = next;
        if (next.Desired != before.Desired)
        {
            S.Autoscale = next;
            await state.WriteStateAsync();
            LogScaled(spec.DeploymentId, before.Desired, next.Desired, _demand);
        }

        if (next.Desired != before.Desired || demandChanged)
        {
            await Scheduler.SetDesiredAsync(spec.DeploymentId, next.Desired, _demand);
        }

        WatchScaleDown(next);
    }

    private void WatchScaleDown(AutoscaleState autoscale)
    {
        if (_autoscaler.ScaleDownDueAt(autoscale) is null)
        {
            _scaleDownTimer?.Dispose();
            _scaleDownTimer = null;
            return;
        }

        // Checked often enough that a scale-down is at most a tenth of the delay late.
        var period = TimeSpan.FromSeconds(Math.Max(1, _autoscaler.EffectiveScaleDownDelay.TotalSeconds / 10.0));
        _scaleDownTimer ??= this.RegisterGrainTimer(
            () => S.Spec is null ? Task.CompletedTask : ScaleAsync(demandChanged: false),
            new GrainTimerCreationOptions(period, period) { KeepAlive = true });
    }

    private async Task<DeploymentView> ViewAsync()
    {
        var spec = S.Spec!;
        // Null only if the scheduler does not know the deployment, which then has no replicas.
        var replicas = await Scheduler.GetReplicasAsync(spec.DeploymentId) ?? [];
        var placed = replicas.Count(r => r.State != "draining");
        return new DeploymentView(
            spec,
            S.Generation,
            (_autoscale ?? Autoscaler.Start(spec)).Desired,
            _demand,
            spec.SpilledDemand(_demand, placed),
            replicas,
            _autoscale is null ? null : _autoscaler.ScaleDownDueAt(_autoscale));
    }
}
