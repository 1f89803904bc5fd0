namespace ControlPlane.Domain.Deployments;

/// <summary>A placed replica as the reconciler sees it: where it is, and whether its node is being drained.</summary>
/// <param name="Evicting">Its node is draining: the replica must move away, make-before-break.</param>
public readonly record struct ReplicaLocation(PlacedReplica Replica, string NodeId, bool Evicting);

/// <summary>Why a replica is released.</summary>
public enum ReleaseReason
{
    /// <summary>Its ordinal is at or above what the deployment wants now.</summary>
    ScaledDown,
    /// <summary>Its deployment is gone.</summary>
    Orphaned,
    /// <summary>A replica of the current spec, away from any draining node, is ready in its place.</summary>
    Replaced,
    /// <summary>Another replica holds the same ordinal (a retry or race left two); the better one stays.</summary>
    Duplicate,
    /// <summary>It must move (old spec or draining node) and is not serving, so nothing is lost by stopping it first.</summary>
    NotServing,
}

/// <summary>A replica to stop and free.</summary>
public sealed record ReplicaRelease(string ReplicaId, string NodeId, ReleaseReason Reason);

/// <summary>A replica to place: which deployment, which ordinal, at which tier; and the replica it will replace once ready, if any.</summary>
public sealed record ReplicaPlacement(string DeploymentId, int Ordinal, ReplicaTier Tier, string? Replaces);

/// <summary>What one reconciliation pass asks for: releases first (they free GPUs), then placements in priority order.</summary>
public sealed record ReconcilePlan(IReadOnlyList<ReplicaRelease> Releases, IReadOnlyList<ReplicaPlacement> Placements);

/// <summary>
/// Compares what deployments want with the replicas that hold GPUs, and says what to release and what to place,
/// like a controller's reconcile loop. It does not choose GPUs (that is <see cref="Placement.PlacementPlanner"/>)
/// and holds no state, so the scheduler grain and the fleet simulator run exactly the same rules:
/// <list type="bullet">
/// <item>Each of a deployment's ordinals below its desired count should have one replica of the current spec
/// generation on a node that is not draining; ordinals above it are released (the highest first: burst before
/// reserved, because reserved ordinals are the lowest).</item>
/// <item>A replica that must move (an older generation after a migration, a tier its ordinal no longer has after a
/// reservation changed, or on a draining node) and is serving
/// is replaced make-before-break: the new replica is placed beside it and the old one is released only once the
/// new one is ready. At most <see cref="MaxReplacementsInFlight"/> replacements per deployment run at a time, so a
/// migration never takes more than that many replicas' worth of extra GPUs or drops ready capacity.</item>
/// <item>Placements come highest tier first, so reserved replicas get GPUs (preempting shared work) before anyone else.</item>
/// </list>
/// </summary>
public static class Reconciler
{
    /// <summary>Replacements one deployment may have in flight.</summary>
    public const int MaxReplacementsInFlight = 1;

    public static ReconcilePlan Plan(IReadOnlyDictionary<string, ScheduledDeployment> deployments, IEnumerable<ReplicaLocation> replicas)
    {
        var releases = new List<ReplicaRelease>();
        var placements = new List<ReplicaPlacement>();
        var byDeployment = replicas
            .GroupBy(r => r.Replica.DeploymentId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);

        foreach (var (deploymentId, orphans) in byDeployment.Where(g => !deployments.ContainsKey(g.Key)).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            releases.AddRange(orphans.Select(r => Release(r, ReleaseReason.Orphaned)));
        }

        foreach (var deployment in deployments.Values.OrderBy(d => d.Spec.DeploymentId, StringComparer.Ordinal))
        {
            PlanDeployment(deployment, byDeployment.GetValueOrDefault(deployment.Spec.DeploymentId) ?? [], releases, placements);
        }

        var ordered = placements
            .OrderByDescending(p => p.Tier)
            .ThenBy(p => p.Replaces is null ? 0 : 1)
            .ThenBy(p => p.DeploymentId, StringComparer.Ordinal)
            .ThenBy(p => p.Ordinal)
            .ToArray();
        return new ReconcilePlan(releases, ordered);
    }

    private static void PlanDeployment(ScheduledDeployment deployment, ReplicaLocation[] replicas, List<ReplicaRelease> releases, List<ReplicaPlacement> placements)
    {
        var spec = deployment.Spec;
        var desired = deployment.Desired;
        var byOrdinal = replicas.GroupBy(r => r.Replica.Ordinal).ToDictionary(g => g.Key, g => g.ToArray());

        foreach (var (ordinal, above) in byOrdinal.Where(g => g.Key < 0 || g.Key >= desired).OrderByDescending(g => g.Key))
        {
            releases.AddRange(above.Select(r => Release(r, ReleaseReason.ScaledDown)));
        }

        var inFlight = 0;
        for (var ordinal = 0; ordinal < desired; ordinal++)
        {
            if (byOrdinal.TryGetValue(ordinal, out var at) && at.Any(r => IsCurrent(r, deployment) && r.Replica.State != ReplicaState.Ready) && at.Any(r => !IsCurrent(r, deployment)))
            {
                inFlight++;
            }
        }

        for (var ordinal = 0; ordinal < desired; ordinal++)
        {
            var at = byOrdinal.GetValueOrDefault(ordinal) ?? [];
            var current = at.Where(r => IsCurrent(r, deployment))
                .OrderBy(r => r.Replica.State == ReplicaState.Ready ? 0 : r.Replica.State == ReplicaState.Starting ? 1 : 2)
                .ThenBy(r => r.Replica.ReplicaId, StringComparer.Ordinal)
                .ToArray();
            var moving = at.Where(r => !IsCurrent(r, deployment)).OrderBy(r => r.Replica.ReplicaId, StringComparer.Ordinal).ToArray();

            releases.AddRange(current.Skip(1).Select(r => Release(r, ReleaseReason.Duplicate)));
            if (current.Length > 0)
            {
                // Make-before-break: the replicas being replaced stop only once their successor serves.
                if (current[0].Replica.State == ReplicaState.Ready)
                {
                    releases.AddRange(moving.Select(r => Release(r, ReleaseReason.Replaced)));
                }

                continue;
            }

            var serving = moving.Where(r => r.Replica.State == ReplicaState.Ready).ToArray();
            releases.AddRange(moving.Where(r => r.Replica.State != ReplicaState.Ready).Select(r => Release(r, ReleaseReason.NotServing)));
            releases.AddRange(serving.Skip(1).Select(r => Release(r, ReleaseReason.Duplicate)));
            if (serving.Length == 0)
            {
                placements.Add(new ReplicaPlacement(spec.DeploymentId, ordinal, spec.TierOf(ordinal), null));
            }
            else if (inFlight < MaxReplacementsInFlight)
            {
                inFlight++;
                placements.Add(new ReplicaPlacement(spec.DeploymentId, ordinal, spec.TierOf(ordinal), serving[0].Replica.ReplicaId));
            }
        }
    }

    /// <summary>
    /// Of the current spec, at the tier its ordinal has now and not on a draining node: a replica that may stay. A changed
    /// reservation (<see cref="DeploymentLimits"/>) keeps the generation but moves ordinals between reserved and burst: those
    /// replicas are replaced at their new tier, make-before-break, like an older generation's.
    /// </summary>
    public static bool IsCurrent(PlacedReplica replica, ScheduledDeployment deployment) =>
        replica.Generation == deployment.Generation && replica.Tier == deployment.Spec.TierOf(replica.Ordinal);

    private static bool IsCurrent(ReplicaLocation replica, ScheduledDeployment deployment) =>
        IsCurrent(replica.Replica, deployment) && !replica.Evicting;

    private static ReplicaRelease Release(ReplicaLocation replica, ReleaseReason reason) => new(replica.Replica.ReplicaId, replica.NodeId, reason);
}
