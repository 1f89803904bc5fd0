using ControlPlane.Contracts;
using ControlPlane.Contracts.Deployments;
using ControlPlane.Contracts.Slas;
using ControlPlane.Domain.Deployments;
using ControlPlane.Domain.Slas;

namespace ControlPlane.Grains.Deployments;

/// <summary>
/// SLO measurement: the scheduler is where demand and ready replicas meet, so it checks each dedicated deployment's
/// coverage (<see cref="SloMinute.Covered"/>) at every demand signal and every <see cref="CapacityOptions.SloSampleSeconds"/>,
/// turns the checks into minute verdicts (<see cref="SloMinuteTracker"/>) and sends them to the deployment's meter, which
/// stores them. A deployment whose demand this activation has not heard is not checked (its demand is unknown, not 0):
/// its minutes stay unmeasured, as do the minutes the scheduler was not running. Verdicts not yet stored are kept and
/// sent again; the meter ignores those it has.
/// </summary>
public sealed partial class SchedulerGrain
{
    private readonly HashSet<string> _demandHeard = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SloMinuteTracker> _sloTrackers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<SloMinuteVerdict>> _sloPending = new(StringComparer.Ordinal);
    private bool _sloFlushing;

    private void StartSloMeasurement()
    {
        var period = TimeSpan.FromSeconds(options.Value.SloSampleSeconds);
        this.RegisterGrainTimer(SampleSlosAsync, new GrainTimerCreationOptions(period, period) { KeepAlive = true });
    }

    private void HeardDemand(string deploymentId)
    {
        _demandHeard.Add(deploymentId);
        SampleSlo(deploymentId, time.GetUtcNow());
    }

    private void ForgetSlo(string deploymentId)
    {
        _demandHeard.Remove(deploymentId);
        _sloTrackers.Remove(deploymentId);
    }

    private async Task SampleSlosAsync()
    {
        var now = time.GetUtcNow();
        // One pass over the replicas for every deployment, not one per deployment.
        var ready = _model.Replicas().Where(IsRoutable)
            .GroupBy(r => r.Replica.DeploymentId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var deploymentId in _demandHeard)
        {
            SampleSlo(deploymentId, now, ready.GetValueOrDefault(deploymentId));
        }

        await FlushSloVerdictsAsync();
    }

    private void SampleSlo(string deploymentId, DateTimeOffset now, int? readyReplicas = null)
    {
        // Until the replicas are read back from the nodes, the model would say none is ready.
        if (!_rebuilt.IsCompletedSuccessfully || !_model.Deployments.TryGetValue(deploymentId, out var deployment)
            || deployment.Spec.Class != DeploymentClass.Dedicated)
        {
            return;
        }

        var spec = deployment.Spec;
        var ready = readyReplicas ?? _model.Replicas().Count(r => r.Replica.DeploymentId == deploymentId && IsRoutable(r));
        var covered = SloMinute.Covered(_demand.GetValueOrDefault(deploymentId), ready, spec.ReservedReplicas, spec.TokensPerSecondPerReplica);
        if (!_sloTrackers.TryGetValue(deploymentId, out var tracker))
        {
            tracker = new SloMinuteTracker(3 * TimeSpan.FromSeconds(options.Value.SloSampleSeconds));
            _sloTrackers[deploymentId] = tracker;
        }

        var verdicts = tracker.Observe(now, covered);
        if (verdicts.Count > 0)
        {
            if (!_sloPending.TryGetValue(deploymentId, out var pending))
            {
                pending = [];
                _sloPending[deploymentId] = pending;
            }

            pending.AddRange(verdicts);
        }
    }

    /// <summary>Sends the verdicts waiting, one deployment at a time; those a meter did not take stay for the next flush.</summary>
    private async Task FlushSloVerdictsAsync()
    {
        if (_sloFlushing || _sloPending.Count == 0)
        {
            return;
        }

        _sloFlushing = true;
        try
        {
            foreach (var (deploymentId, pending) in _sloPending.ToArray())
            {
                var sending = pending.ToList();
                try
                {
                    await GrainFactory.GetGrain<ISloMeterGrain>(GrainKeys.SloMeter(deploymentId)).RecordAsync(sending);
                    pending.RemoveRange(0, sending.Count);
                    if (pending.Count == 0)
                    {
                        _sloPending.Remove(deploymentId);
                    }
                }
                catch (Exception e)
                {
                    LogSloNotStored(deploymentId, sending.Count, e);
                }
            }
        }
        finally
        {
            _sloFlushing = false;
        }
    }

    /// <summary>After the scheduler starts: dedicated deployments tell their demand again, so their SLO is measured at once.</summary>
    private async Task AskDemandAgainAsync()
    {
        foreach (var deployment in _model.Deployments.Values.Where(d => d.Spec.Class == DeploymentClass.Dedicated).ToArray())
        {
            try
            {
                await GrainFactory.GetGrain<IDeploymentGrain>(GrainKeys.Deployment(deployment.Spec.DeploymentId)).TellDemandAgainAsync();
            }
            catch (Exception e)
            {
                LogDemandNotTold(deployment.Spec.DeploymentId, e);
            }
        }
    }
}
