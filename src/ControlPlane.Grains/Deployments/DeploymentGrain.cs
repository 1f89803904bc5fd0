using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Slas;
using ControlPlane.Domain.Deployments;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Deployments;

/// <summary>
/// One deployment: its spec, its demand and its autoscaling. Demand signals stop here; the scheduler hears of a
/// deployment only when its desired replica count, the replicas it keeps or its demand changes. A pending scale-down is
/// watched by a timer, because without a new signal nothing else would notice that the delay has passed.
/// <para>
/// A serverless deployment scales on its scaling demand, not its raw demand: the scheduler answers it with each demand
/// it reports, and pushes a new figure when dedicated deployments of its model change what they keep. Every deployment
/// learns its load time from its replicas' loads (the scheduler reports them) and looks that far ahead.
/// </para>
/// </summary>
public sealed partial class DeploymentGrain(
    [PersistentState("deployment", "store")] IPersistentState<DeploymentState> state,
    IOptions<CapacityOptions> options,
    TimeProvider time,
    ILogger<DeploymentGrain> logger) : Grain, IDeploymentGrain
{
    // Set for the deployment's learned load time when it activates.
    private Autoscaler _autoscaler = Autoscaler.Default;
    private IGrainTimer? _scaleDownTimer;

    // The last demand seen and the autoscaler's live state: stored only when the desired count changes.
    private decimal _demand;
    private bool _demandHeard;
    private AutoscaleState? _autoscale;

    // A serverless deployment's demand net of the dedicated slack it counts on (null: not heard yet, scale on demand),
    // and what the scheduler last took from this deployment (null: nothing since activation).
    private decimal? _scalingDemand;
    private (int Desired, int Keeps, decimal Demand, int? Awake, decimal KeptForRises, DeploymentHeadroom? Headroom)? _told;

    private DeploymentState S => state.State;

    private ISchedulerGrain Scheduler => GrainFactory.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _autoscale = S.Autoscale;
        _autoscaler = AutoscalerFor(S.LoadTime);
        return Task.CompletedTask;
    }

    public async Task<DeploymentCommandResult> CreateAsync(DeploymentSpec spec)
    {
        if (S.Spec is not null)
        {
            if (!S.Spec.Equals(spec))
            {
                return new DeploymentCommandResult(DeploymentCommandStatus.Conflict, await ViewAsync());
            }

            // A retry after a failure between the write and the meter's start must not leave the deployment unmeasured.
            await StartSloMeterAsync();
            return new DeploymentCommandResult(DeploymentCommandStatus.Done, await ViewAsync());
        }

        var autoscale = Autoscaler.Start(spec);
        var admission = await Scheduler.AdmitAsync(new ScheduledDeployment(spec, autoscale.Desired, 1, _autoscaler.Awake(autoscale, spec, time.GetUtcNow())));
        if (admission != AdmissionResult.Admitted)
        {
            return new DeploymentCommandResult(DeploymentCommandStatus.Refused, null);
        }

        S.Spec = spec;
        S.Generation = 1;
        S.Autoscale = _autoscale = autoscale;
        S.CreatedAt = time.GetUtcNow();
        await state.WriteOrReloadAsync(this, logger, Reloaded);
        await StartSloMeterAsync();
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

        _demand = tokensPerSecond;
        _demandHeard = true;
        await ScaleAsync();
        return new DeploymentCommandResult(DeploymentCommandStatus.Done, null);
    }

    public async Task TellDemandAgainAsync()
    {
        // Without a signal since activation the demand is not known: telling 0 would make the SLO look met.
        if (S.Spec is null || !_demandHeard)
        {
            return;
        }

        _told = null;
        await ScaleAsync();
    }

    public async Task SetScalingDemandAsync(decimal scalingTokensPerSecond, decimal forDemandTokensPerSecond)
    {
        // A figure for an older demand is stale: the report of the newer one got its own.
        if (S.Spec is not { Class: DeploymentClass.Serverless } || forDemandTokensPerSecond != _demand || scalingTokensPerSecond == _scalingDemand)
        {
            return;
        }

        _scalingDemand = scalingTokensPerSecond;
        await ScaleAsync();
    }

    public async Task ObserveLoadAsync(string replicaId, TimeSpan loadTime)
    {
        if (S.Spec is null || replicaId == S.LastLoadReplicaId || loadTime < TimeSpan.Zero)
        {
            return;
        }

        var before = S.LoadTime ?? InitialHorizon;
        S.LoadTime = LoadTimeEstimate.Next(before, loadTime);
        S.LastLoadReplicaId = replicaId;
        await state.WriteOrReloadAsync(this, logger, Reloaded);
        LogLoadObserved(S.Spec.DeploymentId, replicaId, loadTime.TotalSeconds, S.LoadTime.Value.TotalSeconds);

        var next = AutoscalerFor(S.LoadTime);
        if (next != _autoscaler)
        {
            // A new horizon also changes how long a scale-down waits: the timer is set up again for it.
            _autoscaler = next;
            if (next.Forecast is { } forecast)
            {
                LogHorizon(S.Spec.DeploymentId, forecast.Horizon.TotalSeconds);
            }

            _scaleDownTimer?.Dispose();
            _scaleDownTimer = null;
            if (_autoscale is not null)
            {
                WatchScaleDown(_autoscale);
            }
        }
    }

    public async Task<DeploymentCommandResult> MigrateAsync(DeploymentSpec spec)
    {
        if (S.Spec is null)
        {
            return new DeploymentCommandResult(DeploymentCommandStatus.NotFound, null);
        }

        if (!S.Spec.Equals(spec))
        {
            var autoscale = _autoscale ?? Autoscaler.Start(spec);
            var admission = await Scheduler.AdmitAsync(new ScheduledDeployment(spec, autoscale.Desired, S.Generation + 1, _autoscaler.Awake(autoscale, spec, time.GetUtcNow())));
            if (admission == AdmissionResult.Refused)
            {
                return new DeploymentCommandResult(DeploymentCommandStatus.Refused, await ViewAsync());
            }

            S.Spec = spec;
            S.Generation++;
            await state.WriteOrReloadAsync(this, logger, Reloaded);
            LogMigrating(spec.DeploymentId, S.Generation, spec.Model, spec.GpusPerReplica);
        }

        return new DeploymentCommandResult(DeploymentCommandStatus.Done, await ViewAsync());
    }

    public async Task<DeploymentCommandResult> SetLimitsAsync(DeploymentLimits limits)
    {
        if (S.Spec is null)
        {
            return new DeploymentCommandResult(DeploymentCommandStatus.NotFound, null);
        }

        var (spec, errors) = limits.Check(S.Spec);
        if (spec is null)
        {
            return new DeploymentCommandResult(DeploymentCommandStatus.Invalid, null, errors);
        }

        var autoscale = Autoscaler.Limit(_autoscale ?? S.Autoscale ?? Autoscaler.Start(spec), spec);
        if (!S.Spec.Equals(spec))
        {
            // The same generation: the scheduler keeps the replicas, and takes the clamped desired count with the spec.
            var offer = new ScheduledDeployment(spec, autoscale.Desired, S.Generation, _autoscaler.Awake(autoscale, spec, time.GetUtcNow()));
            switch (await Scheduler.AdmitAsync(offer))
            {
                case AdmissionResult.Refused:
                    return new DeploymentCommandResult(DeploymentCommandStatus.Refused, await ViewAsync());
                case AdmissionResult.Stale:
                    // The scheduler holds a newer generation than this grain stored: nothing here is safe to change.
                    return new DeploymentCommandResult(DeploymentCommandStatus.Conflict, await ViewAsync());
            }

            S.Spec = spec;
            S.Autoscale = autoscale;
            await state.WriteOrReloadAsync(this, logger, Reloaded);
            _autoscale = autoscale;
            LogLimitsChanged(spec.DeploymentId, spec.MinReplicas, spec.ReservedReplicas, spec.MaxReplicas, autoscale.Desired);
        }

        // Also on a retry whose first try stored the change but failed to tell. Without a demand heard since activation the
        // admission carried the desired count: telling a demand of 0 would make the SLO look met.
        if (_demandHeard && _told != Telling(autoscale))
        {
            var scaling = await TellSchedulerAsync(autoscale);
            if (spec.Class == DeploymentClass.Serverless)
            {
                _scalingDemand = scaling;
            }
        }

        WatchScaleDown(autoscale);
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
        if (S.Spec.Class == DeploymentClass.Dedicated)
        {
            await GrainFactory.GetGrain<ISloMeterGrain>(GrainKeys.SloMeter(id)).StopAsync(time.GetUtcNow());
        }

        await state.ClearStateAsync();
        state.State = new DeploymentState();
        _autoscale = null;
        _autoscaler = AutoscalerFor(null);
        _demand = 0;
        _demandHeard = false;
        _scalingDemand = null;
        _told = null;
        _scaleDownTimer?.Dispose();
        _scaleDownTimer = null;
        LogDeleted(id);
        return true;
    }

    /// <summary>
    /// Runs the autoscaler on the last demand (a serverless deployment's scaling demand); writes a changed desired count
    /// and tells the scheduler when the desired count, the replicas kept or the demand differ from what it took last. A
    /// serverless deployment tells its new demand first, and scales on the scaling demand the scheduler answers for it.
    /// Both are compared with what the store and the scheduler hold, not with this call's start: after a failed write
    /// or call, the same demand sent again writes and tells again.
    /// </summary>
    private async Task ScaleAsync()
    {
        var spec = S.Spec!;
        if (spec.Class == DeploymentClass.Serverless && _demand != _told?.Demand)
        {
            _scalingDemand = await TellSchedulerAsync(_autoscale ?? Autoscaler.Start(spec));
        }

        var stored = S.Autoscale ?? Autoscaler.Start(spec);
        var next = _autoscaler.Next(_autoscale ?? stored, spec, ScalingInput(spec), time.GetUtcNow());
        _autoscale = next;
        if (next.Desired != stored.Desired)
        {
            S.Autoscale = next;
            await state.WriteOrReloadAsync(this, logger, Reloaded);
            LogScaled(spec.DeploymentId, stored.Desired, next.Desired, _demand);
        }

        if (_told != Telling(next))
        {
            var scaling = await TellSchedulerAsync(next);
            if (spec.Class == DeploymentClass.Serverless)
            {
                _scalingDemand = scaling;
            }
        }

        WatchScaleDown(next);
    }

    /// <summary>A dedicated deployment's SLO minutes count from its creation (<see cref="ISloMeterGrain"/>).</summary>
    private Task StartSloMeterAsync() =>
        S.Spec!.Class == DeploymentClass.Dedicated
            ? GrainFactory.GetGrain<ISloMeterGrain>(GrainKeys.SloMeter(S.Spec.DeploymentId)).StartAsync(S.CreatedAt)
            : Task.CompletedTask;

    private decimal ScalingInput(DeploymentSpec spec) =>
        spec.Class == DeploymentClass.Serverless && _scalingDemand is { } net ? net : _demand;

    /// <summary>
    /// What the scheduler takes: also, for a dedicated deployment, how many of the desired replicas must run now (the rest
    /// may sleep) and the spare they keep for its quick rises (serverless does not count on it).
    /// </summary>
    private (int Desired, int Keeps, decimal Demand, int? Awake, decimal KeptForRises, DeploymentHeadroom? Headroom) Telling(AutoscaleState autoscale)
    {
        var now = time.GetUtcNow();
        var awake = _autoscaler.Awake(autoscale, S.Spec!, now);
        var headroom = awake is not null && _autoscaler.AwakeForDemand(autoscale, S.Spec!, now) is { } forDemand
            ? new DeploymentHeadroom(_demand, forDemand, Steady(autoscale.QuickRise, _told?.Headroom?.QuickRise))
            : null;
        return (autoscale.Desired, Autoscaler.Keeps(autoscale), _demand, awake, KeptForRises(autoscale), headroom);
    }

    /// <summary>A quick rise to tell: the figure told last while the rise moved by less than 5% (or 1 token/s) from it.</summary>
    private static decimal Steady(decimal quick, decimal? told) =>
        told is { } before && Math.Abs(quick - before) < Math.Max(1m, before / 20) ? before : quick;

    /// <summary>
    /// The quick rise to tell: it decays a little with every signal, so the figure the scheduler took stands until the
    /// rise moved by 5% (or 1 token/s): a steady demand does not call the scheduler for each signal.
    /// </summary>
    private decimal KeptForRises(AutoscaleState autoscale)
    {
        if (S.Spec!.Class != DeploymentClass.Dedicated)
        {
            return 0m;
        }

        var quick = autoscale.QuickRise;
        return _told is { } told && Math.Abs(quick - told.KeptForRises) < Math.Max(1m, told.KeptForRises / 20) ? told.KeptForRises : quick;
    }

    /// <summary>Tells the scheduler; what it took is noted only once it answered.</summary>
    private async Task<decimal?> TellSchedulerAsync(AutoscaleState autoscale)
    {
        var telling = Telling(autoscale);
        var scaling = await Scheduler.SetDesiredAsync(S.Spec!.DeploymentId, telling.Desired, telling.Keeps, telling.Demand, telling.Awake, telling.KeptForRises, telling.Headroom);
        _told = telling;
        return scaling;
    }

    /// <summary>After a failed write, memory follows the state as stored: the autoscaler starts again from its stored state.</summary>
    private void Reloaded() => _autoscale = S.Autoscale;

    /// <summary>The configured horizon: where every deployment's learned load time starts.</summary>
    private TimeSpan InitialHorizon => TimeSpan.FromSeconds(options.Value.ForecastHorizonSeconds);

    /// <summary>
    /// The autoscaler for a learned load time: its forecast looks that far ahead, in whole seconds (so that a load a few
    /// milliseconds off does not move the horizon's buckets). No forecast when the configured horizon is 0.
    /// </summary>
    private Autoscaler AutoscalerFor(TimeSpan? loadTime)
    {
        var delay = TimeSpan.FromSeconds(options.Value.ScaleDownDelaySeconds);
        if (options.Value.ForecastHorizonSeconds <= 0)
        {
            return new Autoscaler(delay);
        }

        var horizon = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling((loadTime ?? InitialHorizon).TotalSeconds)));
        return new Autoscaler(delay, Forecast.For(horizon));
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
            () => S.Spec is null ? Task.CompletedTask : ScaleAsync(),
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
            _autoscale is null ? null : _autoscaler.ScaleDownDueAt(_autoscale),
            _autoscaler.Forecast is { } forecast ? (int)forecast.Horizon.TotalSeconds : null,
            spec.Class == DeploymentClass.Serverless ? ScalingInput(spec) : null,
            _autoscale is null ? null : _autoscaler.Awake(_autoscale, spec, time.GetUtcNow()));
    }
}
