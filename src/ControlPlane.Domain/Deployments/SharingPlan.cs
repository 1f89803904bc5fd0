using ControlPlane.Domain.Partners;

namespace ControlPlane.Domain.Deployments;

/// <summary>What a route sends traffic to.</summary>
[GenerateSerializer, Alias("route-kind")]
public enum RouteKind
{
    /// <summary>One of the deployment's own ready replicas.</summary>
    Replica = 0,
    /// <summary>A ready replica of a dedicated deployment of the same model, at lower priority than its own traffic.</summary>
    DedicatedSlack = 1,
    /// <summary>
    /// A ready replica of a serverless or batch deployment of the same model: for a dedicated deployment's overflow at
    /// top priority (batch's requests wait, serverless' are never displaced), for a serverless deployment's overflow on a
    /// batch replica (batch's requests wait), or for batch at the lowest.
    /// </summary>
    SharedReplica = 2,
    /// <summary>A distribution partner serving the model.</summary>
    Partner = 3,
}

/// <summary>A replica that can take traffic now (ready, on a node that is not suspect).</summary>
/// <param name="Region">Its node's region; null where not known.</param>
[GenerateSerializer, Alias("routable-replica")]
public sealed record RoutableReplica(
    [property: Id(0)] string DeploymentId,
    [property: Id(1)] string ReplicaId,
    [property: Id(2)] string NodeId,
    [property: Id(3)] string? Region = null);

/// <summary>One weighted route of a deployment's routing answer.</summary>
/// <param name="DeploymentId">Whose replica it is: the deployment itself, or the dedicated deployment lending it; null for a partner.</param>
/// <param name="Weight">The share of the deployment's traffic to send here: the routes' weights add up to about 1.</param>
/// <param name="TokensPerSecond">What the route takes: a replica's capacity, the slack granted on it, or a partner's share.</param>
[GenerateSerializer, Alias("weighted-route")]
public sealed record WeightedRoute(
    [property: Id(0)] RouteKind Kind,
    [property: Id(1)] string? DeploymentId,
    [property: Id(2)] string? ReplicaId,
    [property: Id(3)] string? NodeId,
    [property: Id(4)] string? PartnerId,
    [property: Id(5)] decimal Weight,
    [property: Id(6)] decimal TokensPerSecond);

/// <summary>
/// Where every deployment's demand goes, fleet-wide: its own ready replicas, then replicas of other deployments of its
/// model (<see cref="SlackSharing"/>: dedicated slack for shared classes, batch replicas for serverless, shared replicas
/// for a dedicated rise), then (serverless) partners for what is left (<see cref="PartnerRouting"/>).
/// </summary>
public sealed class SharingPlan
{
    private readonly Dictionary<string, ModelDemand> _deployments;

    private SharingPlan(Dictionary<string, ModelDemand> deployments, SlackAllocation slack, IReadOnlyDictionary<string, IReadOnlyList<PartnerShare>> partners)
    {
        _deployments = deployments;
        Slack = slack;
        Partners = partners;
    }

    public SlackAllocation Slack { get; }

    /// <summary>Partner shares by serverless deployment id (only those with some).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<PartnerShare>> Partners { get; }

    /// <param name="deployments">Every deployment, each id once.</param>
    /// <param name="partners">Every partner, each id once.</param>
    public static SharingPlan Compute(IReadOnlyList<ModelDemand> deployments, IReadOnlyList<Partner> partners)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        var slack = SlackSharing.Allocate(deployments);
        var overflows = deployments
            .Where(d => d.Class == DeploymentClass.Serverless)
            .Select(d => (d.DeploymentId, d.Model, d.Unmet - slack.TokensFor(d.DeploymentId)))
            .ToArray();
        return new SharingPlan(
            deployments.ToDictionary(d => d.DeploymentId, StringComparer.Ordinal),
            slack,
            PartnerRouting.Allocate(overflows, partners));
    }

    /// <summary>
    /// The deployments whose demand and ready replicas <paramref name="deploymentId"/>'s routes depend on, in the order
    /// given: every deployment of its model (slack is lent within a model), and, for a serverless one, every deployment of
    /// each model that has a serverless deployment (partners' capacity is shared by the serverless overflow of all models,
    /// and each overflow depends on its own model's slack). <see cref="Compute"/> over them gives that deployment the
    /// routes it gets over all; empty for an unknown deployment.
    /// </summary>
    public static IReadOnlyList<ModelDemand> DependenciesOf(string deploymentId, IReadOnlyList<ModelDemand> deployments)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        var target = deployments.FirstOrDefault(d => string.Equals(d.DeploymentId, deploymentId, StringComparison.Ordinal));
        if (target is null)
        {
            return [];
        }

        var models = new HashSet<string>(StringComparer.Ordinal) { target.Model };
        if (target.Class == DeploymentClass.Serverless)
        {
            models.UnionWith(deployments.Where(d => d.Class == DeploymentClass.Serverless).Select(d => d.Model));
        }

        return deployments.Where(d => models.Contains(d.Model)).ToArray();
    }

    /// <summary>Shared tokens/s of a class carried on dedicated slack (not what shared deployments lend each other).</summary>
    public decimal SlackTokens(DeploymentClass cls) =>
        Slack.Grants
            .Where(g => _deployments[g.BorrowerId].Class == cls && _deployments[g.LenderId].Class == DeploymentClass.Dedicated)
            .Sum(g => g.TokensPerSecond);

    /// <summary>Tokens/s of a class sent to partners (only serverless overflows to them).</summary>
    public decimal PartnerTokens(DeploymentClass cls) =>
        Partners.Where(p => _deployments[p.Key].Class == cls).Sum(p => p.Value.Sum(s => s.TokensPerSecond));

    /// <summary>
    /// A deployment's weighted routes: its own ready replicas (by capacity); then the replicas of other deployments of its
    /// model that <see cref="SlackSharing"/> lends it, each lender's grant spread evenly over its replicas in the grant's
    /// region (a dedicated deployment gets shared replicas only for demand beyond its own ready replicas; a shared one
    /// gets dedicated replicas' spare, and serverless batch replicas after that); for serverless, the partner shares.
    /// Empty for an unknown deployment.
    /// </summary>
    /// <param name="readyReplicas">Routable replicas of (at least) the deployment and the dedicated deployments of its model.</param>
    public IReadOnlyList<WeightedRoute> RoutesOf(string deploymentId, IReadOnlyList<RoutableReplica> readyReplicas)
    {
        ArgumentNullException.ThrowIfNull(readyReplicas);
        if (!_deployments.TryGetValue(deploymentId, out var target))
        {
            return [];
        }

        var byDeployment = readyReplicas
            .GroupBy(r => r.DeploymentId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(r => r.ReplicaId, StringComparer.Ordinal).ToArray(), StringComparer.Ordinal);
        var routes = new List<(RouteKind Kind, string? DeploymentId, string? ReplicaId, string? NodeId, string? PartnerId, decimal Tps)>();
        foreach (var r in byDeployment.GetValueOrDefault(deploymentId) ?? [])
        {
            routes.Add((RouteKind.Replica, deploymentId, r.ReplicaId, r.NodeId, null, target.TokensPerSecondPerReplica));
        }

        foreach (var grant in Slack.GrantsTo(deploymentId))
        {
            // A grant is carried by the lender's replicas in its region only (the borrower may be served nowhere else).
            var lenders = (byDeployment.GetValueOrDefault(grant.LenderId) ?? [])
                .Where(r => grant.Region is null || string.Equals(r.Region, grant.Region, StringComparison.Ordinal))
                .ToArray();
            var each = lenders.Length == 0 ? 0m : SlackSharing.Floor(grant.TokensPerSecond / lenders.Length);
            if (each <= 0)
            {
                continue;
            }

            foreach (var r in lenders)
            {
                var kind = _deployments.TryGetValue(grant.LenderId, out var lender) && lender.Class == DeploymentClass.Dedicated
                    ? RouteKind.DedicatedSlack
                    : RouteKind.SharedReplica;
                routes.Add((kind, grant.LenderId, r.ReplicaId, r.NodeId, null, each));
            }
        }

        foreach (var share in Partners.GetValueOrDefault(deploymentId) ?? [])
        {
            routes.Add((RouteKind.Partner, null, null, null, share.PartnerId, share.TokensPerSecond));
        }

        var total = routes.Sum(r => r.Tps);
        return routes
            .Select(r => new WeightedRoute(r.Kind, r.DeploymentId, r.ReplicaId, r.NodeId, r.PartnerId, total == 0 ? 0m : decimal.Round(r.Tps / total, WeightDecimals), r.Tps))
            .ToArray();
    }

    /// <summary>Decimals of a route's weight.</summary>
    public const int WeightDecimals = 6;
}
