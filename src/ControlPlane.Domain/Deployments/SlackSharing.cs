namespace ControlPlane.Domain.Deployments;

/// <summary>
/// One deployment's demand and ready capacity, the input of <see cref="SlackSharing.Allocate"/>.
/// </summary>
/// <param name="DeploymentId">Unique among the deployments given together.</param>
/// <param name="Model">Slack is shared only between deployments of the same model (compared ordinally).</param>
/// <param name="Class">Dedicated deployments give slack; serverless and batch ones take it.</param>
/// <param name="DemandTokensPerSecond">The demand the gateway reports; a negative figure counts as 0.</param>
/// <param name="ReadyReplicas">Replicas that can take traffic now.</param>
/// <param name="TokensPerSecondPerReplica">What one replica serves.</param>
[GenerateSerializer, Alias("model-demand")]
public sealed record ModelDemand(
    [property: Id(0)] string DeploymentId,
    [property: Id(1)] string Model,
    [property: Id(2)] DeploymentClass Class,
    [property: Id(3)] decimal DemandTokensPerSecond,
    [property: Id(4)] int ReadyReplicas,
    [property: Id(5)] decimal TokensPerSecondPerReplica)
{
    /// <summary>Tokens/s the ready replicas serve.</summary>
    public decimal ReadyCapacity => Math.Max(0, ReadyReplicas) * Math.Max(0m, TokensPerSecondPerReplica);

    /// <summary>Demand counted as it is taken: never negative.</summary>
    public decimal Demand => Math.Max(0m, DemandTokensPerSecond);

    /// <summary>A dedicated deployment's ready capacity left after its own demand (0 for shared classes): what it can lend.</summary>
    public decimal Spare => Class == DeploymentClass.Dedicated ? Math.Max(0m, ReadyCapacity - Demand) : 0m;

    /// <summary>
    /// What it can lend to batch: a dedicated deployment's spare, and a serverless deployment's ready capacity left after
    /// its own demand (batch is the lowest priority on any replica of the model).
    /// </summary>
    public decimal SpareForBatch => Class is DeploymentClass.Dedicated or DeploymentClass.Serverless ? Math.Max(0m, ReadyCapacity - Demand) : 0m;

    /// <summary>Demand its own ready replicas do not serve.</summary>
    public decimal Unmet => Math.Max(0m, Demand - ReadyCapacity);
}

/// <summary>
/// Tokens/s of a shared deployment routed to the spare capacity of another deployment of its model: a dedicated one, or
/// (for batch) a serverless one.
/// </summary>
[GenerateSerializer, Alias("slack-grant")]
public sealed record SlackGrant(
    [property: Id(0)] string SharedDeploymentId,
    [property: Id(1)] string DedicatedDeploymentId,
    [property: Id(2)] decimal TokensPerSecond);

/// <summary>What <see cref="SlackSharing.Allocate"/> hands out: every non-zero grant, in a stable order.</summary>
public sealed class SlackAllocation(IReadOnlyList<SlackGrant> grants)
{
    public static readonly SlackAllocation None = new([]);

    public IReadOnlyList<SlackGrant> Grants { get; } = grants;

    /// <summary>Tokens/s a shared deployment gets on dedicated slack, all lenders together.</summary>
    public decimal TokensFor(string sharedDeploymentId) =>
        Grants.Where(g => g.SharedDeploymentId == sharedDeploymentId).Sum(g => g.TokensPerSecond);

    /// <summary>A shared deployment's grants, one per dedicated deployment that lends to it.</summary>
    public IReadOnlyList<SlackGrant> GrantsTo(string sharedDeploymentId) =>
        Grants.Where(g => g.SharedDeploymentId == sharedDeploymentId).ToArray();

    /// <summary>Tokens/s of shared work a dedicated deployment carries, all borrowers together.</summary>
    public decimal LentBy(string dedicatedDeploymentId) =>
        Grants.Where(g => g.DedicatedDeploymentId == dedicatedDeploymentId).Sum(g => g.TokensPerSecond);
}

/// <summary>
/// Shared tokens on dedicated slack: a dedicated replica that is not fully used serves serverless and batch requests
/// for the same model at lower priority. Dedicated demand is served first, so only the spare (ready capacity minus the
/// dedicated deployment's own demand) is lent. Per model the spare is pooled and handed to serverless deployments
/// first, in proportion to the demand their own ready replicas leave unmet, then what is left to batch the same way;
/// batch may also take what serverless replicas of the model have left after their own demand (batch is the lowest
/// priority on every replica). Each grant is spread over the lenders in proportion to the spare they have left.
/// <para>
/// Figures are rounded down to <see cref="Decimals"/> decimals at every share, so the grants of a lender never add up
/// to more than its spare and a borrower never gets more than its unmet demand. Plain function of its input: the
/// gateway's routing answer and the simulator call the same code.
/// </para>
/// </summary>
public static class SlackSharing
{
    /// <summary>Decimals of a token/s figure a grant carries (a thousandth of a token per second).</summary>
    public const int Decimals = 3;

    private static readonly DeploymentClass[] Borrowers = [DeploymentClass.Serverless, DeploymentClass.Batch];

    /// <summary>Hands dedicated spare capacity to the shared deployments of the same model (see the type's remarks).</summary>
    /// <param name="deployments">Deployments of any models and classes, each id once.</param>
    public static SlackAllocation Allocate(IReadOnlyList<ModelDemand> deployments)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        var grants = new List<SlackGrant>();
        foreach (var model in deployments.GroupBy(d => d.Model, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            foreach (var cls in Borrowers)
            {
                // What each lender still has, in a stable order so the same input always gives the same grants: dedicated
                // spare for serverless; for batch, dedicated spare after the serverless round and serverless spare too.
                var left = model
                    .Where(d => (cls == DeploymentClass.Serverless ? d.Spare : d.SpareForBatch) > 0)
                    .OrderBy(d => d.DeploymentId, StringComparer.Ordinal)
                    .Select(d => (d.DeploymentId, Spare: (cls == DeploymentClass.Serverless ? d.Spare : d.SpareForBatch) - Lent(grants, d.DeploymentId)))
                    .Where(l => l.Spare > 0)
                    .ToArray();
                var pool = left.Sum(l => l.Spare);
                var borrowers = model
                    .Where(d => d.Class == cls && d.Unmet > 0)
                    .OrderBy(d => d.DeploymentId, StringComparer.Ordinal)
                    .ToArray();
                var unmet = borrowers.Sum(b => b.Unmet);
                if (pool <= 0 || unmet <= 0)
                {
                    continue;
                }

                // Shares are taken from the lenders as they stood before this class's round.
                var before = left.ToArray();
                foreach (var borrower in borrowers)
                {
                    var wanted = unmet <= pool ? borrower.Unmet : Floor(borrower.Unmet * pool / unmet);
                    var owed = wanted;
                    for (var i = 0; i < before.Length && owed > 0; i++)
                    {
                        // The minimums only guard against decimal division rounding a quotient up past a bound.
                        var share = Math.Min(Math.Min(Floor(wanted * before[i].Spare / pool), left[i].Spare), owed);
                        if (share > 0)
                        {
                            grants.Add(new SlackGrant(borrower.DeploymentId, before[i].DeploymentId, share));
                            left[i].Spare -= share;
                            owed -= share;
                        }
                    }
                }

                if (unmet > pool && cls == DeploymentClass.Serverless && !model.Any(d => d.Class == DeploymentClass.Serverless && d.SpareForBatch > 0))
                {
                    // Serverless took the whole dedicated pool and no serverless replica has room: nothing is left for batch.
                    break;
                }
            }
        }

        return new SlackAllocation(grants);
    }

    /// <summary>
    /// The demand each serverless deployment should scale its own replicas on: its demand less its share of the spare its
    /// model's dedicated deployments keep (shared among the model's serverless deployments in proportion to their demand).
    /// Give each dedicated deployment's <see cref="ModelDemand.ReadyReplicas"/> as the ready replicas it keeps
    /// (<see cref="Autoscaler.Keeps"/>): a replica a pending scale-down will release is not counted on, so serverless takes
    /// its work over before it goes. Slack beyond that still takes serverless overflow through the routes; it is only not
    /// counted on for scaling. Deployments of other classes are not in the answer.
    /// </summary>
    public static IReadOnlyDictionary<string, decimal> ScalingDemand(IReadOnlyList<ModelDemand> deployments)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        var scaling = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var model in deployments.GroupBy(d => d.Model, StringComparer.Ordinal))
        {
            var spare = model.Sum(d => d.Spare);
            var serverless = model.Where(d => d.Class == DeploymentClass.Serverless).ToArray();
            var demand = serverless.Sum(d => d.Demand);
            foreach (var d in serverless)
            {
                var share = demand <= 0 ? 0 : Math.Min(d.Demand, spare * d.Demand / demand);
                scaling[d.DeploymentId] = Floor(Math.Max(0, d.Demand - share));
            }
        }

        return scaling;
    }

    private static decimal Lent(List<SlackGrant> grants, string lender)
    {
        var lent = 0m;
        foreach (var grant in grants)
        {
            if (string.Equals(grant.DedicatedDeploymentId, lender, StringComparison.Ordinal))
            {
                lent += grant.TokensPerSecond;
            }
        }

        return lent;
    }

    /// <summary>Rounded towards zero (down, for the non-negative figures here) to <see cref="Decimals"/> decimals.</summary>
    public static decimal Floor(decimal tokensPerSecond) => decimal.Round(tokensPerSecond, Decimals, MidpointRounding.ToZero);
}
