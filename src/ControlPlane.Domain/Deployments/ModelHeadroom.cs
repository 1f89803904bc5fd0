namespace ControlPlane.Domain.Deployments;

/// <summary>
/// What a rate-driven deployment last told its scheduler about its headroom (not stored: the deployment tells it again on its
/// next demand signal, and until then the deployment's own <see cref="ScheduledDeployment.Awake"/> holds).
/// </summary>
/// <param name="Demand">Its demand, tokens per second.</param>
/// <param name="AwakeForDemand">Of its desired replicas, how many must run for its demand alone (<see cref="Autoscaler.AwakeForDemand"/>).</param>
/// <param name="QuickRise">Its largest rise within one scale-down delay seen lately (<see cref="AutoscaleState.QuickRise"/>).</param>
[GenerateSerializer, Alias("deployment-headroom")]
public sealed record DeploymentHeadroom(
    [property: Id(0)] decimal Demand,
    [property: Id(1)] int AwakeForDemand,
    [property: Id(2)] decimal QuickRise);

/// <summary>
/// The headroom for quick rises, kept running per model rather than per deployment. A rise of one deployment is served at
/// once on the spare of any running replica of its model (<see cref="SlackSharing.Allocate"/>: a dedicated rise on shared
/// replicas' spare and other dedicated deployments' spare, serverless overflow on dedicated spare), so the replicas of a
/// model together need room for the largest rise of their summed demand, not for the sum of each one's largest rise:
/// deployments seldom rise at the same moment. The room kept is the larger of the model's learned quick rise
/// (<see cref="ModelRises"/>: rises that do come together) and the largest single deployment's, so one deployment's rise
/// alone is always covered as it was when each kept its own.
/// </summary>
public static class ModelHeadroom
{
    /// <summary>
    /// Of each deployment's desired replicas, how many must run: at least what its demand alone needs, and the running
    /// spare of each model at least its quick-rise room, added one replica at a time: first to deployments with a replica
    /// placed above what they were given (<paramref name="placed"/>), so the room stays on engines that run rather than one
    /// deployment's engine sleeping while another's wakes (each swap preempts the shared work lodging on the woken
    /// engine's GPUs and costs seconds of a wake), then to the deployment whose own quick rise is least covered by what it
    /// was given (ties by id). A model with a deployment that has an <see cref="ScheduledDeployment.Awake"/>
    /// but no <see cref="DeploymentHeadroom"/> yet is not pooled: each of its deployments keeps its own awake count.
    /// Deployments without an awake count (all their replicas run) add their spare to their model's. The answer holds only
    /// the deployments with an awake count, in models that are pooled.
    /// </summary>
    public static IReadOnlyDictionary<string, int> Awake(
        IEnumerable<ScheduledDeployment> deployments,
        IReadOnlyDictionary<string, DeploymentHeadroom> headroom,
        IReadOnlyDictionary<string, decimal> modelRises,
        Func<string, int>? placed = null)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        ArgumentNullException.ThrowIfNull(headroom);
        ArgumentNullException.ThrowIfNull(modelRises);
        var awake = new Dictionary<string, int>(StringComparer.Ordinal);
        var models = deployments
            .Where(d => d.Spec.Class is DeploymentClass.Dedicated or DeploymentClass.Serverless && d.Spec.TokensPerSecondPerReplica > 0)
            .GroupBy(d => d.Spec.Model, StringComparer.Ordinal);
        foreach (var model in models)
        {
            var members = model.OrderBy(d => d.Spec.DeploymentId, StringComparer.Ordinal).ToArray();
            if (!members.Any(d => d.Awake is not null) || members.Any(d => d.Awake is not null && !headroom.ContainsKey(d.Spec.DeploymentId)))
            {
                continue;
            }

            var demand = 0m;
            var capacity = 0m;
            var largestRise = 0m;
            var pooled = new List<(ScheduledDeployment Deployment, int Base, decimal Rise)>();
            foreach (var d in members)
            {
                if (!headroom.TryGetValue(d.Spec.DeploymentId, out var h))
                {
                    continue;
                }

                demand += Math.Max(0m, h.Demand);
                largestRise = Math.Max(largestRise, h.QuickRise);
                if (d.Awake is null)
                {
                    capacity += Math.Max(0, d.Desired) * d.Spec.TokensPerSecondPerReplica;
                    continue;
                }

                var own = Math.Max(0, d.Desired);
                var floor = Math.Clamp(h.AwakeForDemand, 0, own);
                awake[d.Spec.DeploymentId] = floor;
                capacity += floor * d.Spec.TokensPerSecondPerReplica;
                pooled.Add((d, floor, Math.Max(0m, h.QuickRise)));
            }

            var target = demand + Math.Max(largestRise, Math.Max(0m, modelRises.GetValueOrDefault(model.Key)));
            while (capacity < target)
            {
                var best = -1;
                var bestRuns = false;
                var uncovered = decimal.MinValue;
                for (var i = 0; i < pooled.Count; i++)
                {
                    var (d, floor, rise) = pooled[i];
                    var given = awake[d.Spec.DeploymentId];
                    if (given >= d.Desired)
                    {
                        continue;
                    }

                    var runs = placed is not null && placed(d.Spec.DeploymentId) > given;
                    var left = rise - ((given - floor) * d.Spec.TokensPerSecondPerReplica);
                    if ((runs && !bestRuns) || (runs == bestRuns && left > uncovered))
                    {
                        best = i;
                        bestRuns = runs;
                        uncovered = left;
                    }
                }

                if (best < 0)
                {
                    break;
                }

                var chosen = pooled[best].Deployment;
                awake[chosen.Spec.DeploymentId]++;
                capacity += chosen.Spec.TokensPerSecondPerReplica;
            }
        }

        return awake;
    }
}

/// <summary>
/// Learns each model's quick rise from the summed demand of its deployments, as <see cref="Autoscaler"/> learns one
/// deployment's (<see cref="Autoscaler.Observe"/>): the largest rise within one scale-down delay seen lately, forgotten by
/// half every rise half-life. Held in memory by a scheduler; after a restart it learns again, and until a model has a
/// figure its largest single deployment's quick rise stands for it (<see cref="ModelHeadroom"/>).
/// </summary>
public sealed class ModelRises(TimeSpan scaleDownDelay)
{
    private readonly Autoscaler _learner = new(scaleDownDelay, Forecast.For(scaleDownDelay));
    private readonly Dictionary<string, AutoscaleState> _states = new(StringComparer.Ordinal);

    /// <summary>The learned quick rise of every model observed, tokens per second.</summary>
    public IReadOnlyDictionary<string, decimal> QuickRises => _states.ToDictionary(s => s.Key, s => s.Value.QuickRise, StringComparer.Ordinal);

    /// <summary>Records a model's summed demand at <paramref name="now"/>; answers its quick rise.</summary>
    public decimal Observe(string model, decimal demand, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        var state = _states.GetValueOrDefault(model) ?? new AutoscaleState(0, null, 0);
        state = _learner.Observe(state, demand, now);
        _states[model] = state;
        return state.QuickRise;
    }

    /// <summary>Forgets a model no deployment runs any more.</summary>
    public bool Forget(string model) => _states.Remove(model);
}
