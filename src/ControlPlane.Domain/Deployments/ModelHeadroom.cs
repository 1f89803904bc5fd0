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
/// <para>
/// Regions bound the pools. A deployment restricted to some regions is routed only to replicas there
/// (<see cref="ModelDemand.Regions"/>), so its rise is covered only by the spare of deployments whose replicas must run
/// there too: those whose allowed regions lie within its own. Each distinct allow list of a model is one pool
/// (<see cref="PoolOf"/>; a model's unrestricted deployments make the pool of all its deployments), and each pool keeps
/// its room over the deployments inside it; the most restricted pools are filled first, and their replicas count towards
/// every pool that contains them.
/// </para>
/// </summary>
public static class ModelHeadroom
{
    /// <summary>
    /// The pool a deployment's own rises count in: its model, and the regions it may run in when its spec restricts them
    /// (sorted, so equal allow lists give one pool). Also the key of <see cref="ModelRises"/>.
    /// </summary>
    public static string PoolOf(DeploymentSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return spec.Model + Key(RegionsOf(spec));
    }

    /// <summary>
    /// Each pool of the given deployments' models (<see cref="PoolOf"/>) with the summed demand of the deployments inside it
    /// (those whose allowed regions lie within the pool's): what <see cref="ModelRises"/> learns from. Negative demand
    /// counts as 0.
    /// </summary>
    public static IReadOnlyDictionary<string, decimal> PoolDemands(IEnumerable<(DeploymentSpec Spec, decimal Demand)> deployments)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        var sums = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var model in deployments.GroupBy(d => d.Spec.Model, StringComparer.Ordinal))
        {
            var members = model.Select(d => (Regions: RegionsOf(d.Spec), Demand: Math.Max(0m, d.Demand))).ToArray();
            foreach (var pool in members.Select(m => m.Regions).DistinctBy(Key, StringComparer.Ordinal))
            {
                sums[model.Key + Key(pool)] = members.Where(m => Within(m.Regions, pool)).Sum(m => m.Demand);
            }
        }

        return sums;
    }

    /// <summary>
    /// Of each deployment's desired replicas, how many must run: at least what its demand alone needs, and the running
    /// spare of each pool (<see cref="PoolOf"/>, the deployments inside it together) at least its quick-rise room, added one
    /// replica at a time to a deployment inside the pool: first to deployments with a replica placed above what they were
    /// given (<paramref name="placed"/>), so the room stays on engines that run rather than one deployment's engine sleeping
    /// while another's wakes (each swap preempts the shared work lodging on the woken engine's GPUs and costs seconds of a
    /// wake), then to the deployment whose own quick rise is least covered by what it was given (ties by id). A model with a
    /// deployment that has an <see cref="ScheduledDeployment.Awake"/> but no <see cref="DeploymentHeadroom"/> yet is not
    /// pooled: each of its deployments keeps its own awake count. Deployments without an awake count (all their replicas
    /// run) add their spare to their pools'. The answer holds only the deployments with an awake count, in models that are
    /// pooled.
    /// </summary>
    /// <param name="modelRises">Each pool's learned quick rise, by <see cref="PoolOf"/>.</param>
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

            var told = new List<Member>();
            foreach (var d in members)
            {
                if (!headroom.TryGetValue(d.Spec.DeploymentId, out var h))
                {
                    continue;
                }

                var floor = d.Awake is null ? Math.Max(0, d.Desired) : Math.Clamp(h.AwakeForDemand, 0, Math.Max(0, d.Desired));
                if (d.Awake is not null)
                {
                    awake[d.Spec.DeploymentId] = floor;
                }

                told.Add(new Member(d, RegionsOf(d.Spec), floor, Math.Max(0m, h.Demand), Math.Max(0m, h.QuickRise)));
            }

            // The most restricted pools first: their replicas count in every pool that contains them.
            var pools = told.Select(m => m.Regions)
                .DistinctBy(Key, StringComparer.Ordinal)
                .Select(pool => (Regions: pool, Inside: told.Where(m => Within(m.Regions, pool)).ToArray()))
                .OrderBy(p => p.Inside.Length)
                .ThenBy(p => Key(p.Regions), StringComparer.Ordinal)
                .ToArray();
            foreach (var (pool, inside) in pools)
            {
                var rise = Math.Max(inside.Max(m => m.Rise), Math.Max(0m, modelRises.GetValueOrDefault(model.Key + Key(pool))));
                var target = inside.Sum(m => m.Demand) + rise;
                var capacity = inside.Sum(m => (m.Deployment.Awake is null ? m.Floor : awake[m.Deployment.Spec.DeploymentId]) * m.Deployment.Spec.TokensPerSecondPerReplica);
                while (capacity < target)
                {
                    Member? best = null;
                    var bestRuns = false;
                    var uncovered = decimal.MinValue;
                    foreach (var m in inside)
                    {
                        var d = m.Deployment;
                        if (d.Awake is null || awake[d.Spec.DeploymentId] is var given && given >= d.Desired)
                        {
                            continue;
                        }

                        var runs = placed is not null && placed(d.Spec.DeploymentId) > given;
                        var left = m.Rise - ((given - m.Floor) * d.Spec.TokensPerSecondPerReplica);
                        if ((runs && !bestRuns) || (runs == bestRuns && left > uncovered))
                        {
                            best = m;
                            bestRuns = runs;
                            uncovered = left;
                        }
                    }

                    if (best is null)
                    {
                        break;
                    }

                    awake[best.Deployment.Spec.DeploymentId]++;
                    capacity += best.Deployment.Spec.TokensPerSecondPerReplica;
                }
            }
        }

        return awake;
    }

    /// <summary>A spec's allowed regions, distinct and sorted; null for any.</summary>
    private static string[]? RegionsOf(DeploymentSpec spec) =>
        spec.Regions is { Length: > 0 } regions ? regions.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray() : null;

    /// <summary>The part of a pool's key after the model: empty for any region.</summary>
    private static string Key(string[]? regions) => regions is null ? "" : "@" + string.Join(',', regions);

    /// <summary>Whether a deployment allowed <paramref name="regions"/> runs only inside <paramref name="pool"/> (null: anywhere).</summary>
    private static bool Within(string[]? regions, string[]? pool) =>
        pool is null || (regions is not null && regions.All(r => pool.Contains(r, StringComparer.Ordinal)));

    private sealed record Member(ScheduledDeployment Deployment, string[]? Regions, int Floor, decimal Demand, decimal Rise);
}

/// <summary>
/// Learns each pool's (<see cref="ModelHeadroom.PoolOf"/>: a model, within the regions its deployments may run in) quick
/// rise from the summed demand of its deployments, as <see cref="Autoscaler"/> learns one
/// deployment's (<see cref="Autoscaler.Observe"/>): the largest rise within one scale-down delay seen lately, forgotten by
/// half every rise half-life. Held in memory by a scheduler; after a restart it learns again, and until a pool has a
/// figure its largest single deployment's quick rise stands for it (<see cref="ModelHeadroom"/>).
/// </summary>
public sealed class ModelRises(TimeSpan scaleDownDelay)
{
    private readonly Autoscaler _learner = new(scaleDownDelay, Forecast.For(scaleDownDelay));
    private readonly Dictionary<string, AutoscaleState> _states = new(StringComparer.Ordinal);

    /// <summary>The learned quick rise of every pool observed, tokens per second.</summary>
    public IReadOnlyDictionary<string, decimal> QuickRises => _states.ToDictionary(s => s.Key, s => s.Value.QuickRise, StringComparer.Ordinal);

    /// <summary>Records a pool's summed demand at <paramref name="now"/>; answers its quick rise.</summary>
    public decimal Observe(string pool, decimal demand, DateTimeOffset now)
    {
        ArgumentException.ThrowIfNullOrEmpty(pool);
        var state = _states.GetValueOrDefault(pool) ?? new AutoscaleState(0, null, 0);
        state = _learner.Observe(state, demand, now);
        _states[pool] = state;
        return state.QuickRise;
    }

    /// <summary>Forgets a pool no deployment is in any more.</summary>
    public bool Forget(string pool) => _states.Remove(pool);
}
