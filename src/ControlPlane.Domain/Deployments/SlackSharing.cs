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
/// <param name="KeptForRises">
/// Dedicated: tokens/s of its spare its running replicas keep for its own rises between demand signals
/// (<see cref="AutoscaleState.QuickRise"/>, what <see cref="Autoscaler.Awake"/> keeps running for). Routes still lend
/// it; serverless does not count on it when it scales (<see cref="SlackSharing.ScalingDemand"/>), since the next rise
/// takes it back before serverless could wake or load replicas of its own.
/// </param>
/// <param name="Regions">
/// The regions its requests may be served in (its spec's allow list; null or empty for any): it borrows only replicas in
/// them, so a customer restricted to a region is never routed to another deployment's replica elsewhere.
/// </param>
/// <param name="ReadyInRegions">
/// Where its ready replicas are, by region (adding up to <see cref="ReadyReplicas"/>). What it lends is spread over them in
/// proportion (its own requests are routed over its replicas by capacity), and each region's share goes only to
/// borrowers that may be served there. Null when not known: then its room counts as in every region, as callers that do
/// not know regions (tests of other rules) expect.
/// </param>
[GenerateSerializer, Alias("model-demand")]
public sealed record ModelDemand(
    [property: Id(0)] string DeploymentId,
    [property: Id(1)] string Model,
    [property: Id(2)] DeploymentClass Class,
    [property: Id(3)] decimal DemandTokensPerSecond,
    [property: Id(4)] int ReadyReplicas,
    [property: Id(5)] decimal TokensPerSecondPerReplica,
    [property: Id(6)] decimal KeptForRises = 0,
    [property: Id(7)] string[]? Regions = null,
    [property: Id(8)] RegionReplicas[]? ReadyInRegions = null)
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

    /// <summary>The spare serverless may count on when it scales: <see cref="Spare"/> less what is kept for the deployment's own rises.</summary>
    public decimal SpareToCountOn => Math.Max(0m, Spare - Math.Max(0m, KeptForRises));

    /// <summary>Demand its own ready replicas do not serve.</summary>
    public decimal Unmet => Math.Max(0m, Demand - ReadyCapacity);

    /// <summary>Equal when every figure is, the arrays element by element (routes compare inputs to push only what changed).</summary>
    public bool Equals(ModelDemand? other) =>
        other is not null
        && string.Equals(DeploymentId, other.DeploymentId, StringComparison.Ordinal)
        && string.Equals(Model, other.Model, StringComparison.Ordinal)
        && Class == other.Class
        && DemandTokensPerSecond == other.DemandTokensPerSecond
        && ReadyReplicas == other.ReadyReplicas
        && TokensPerSecondPerReplica == other.TokensPerSecondPerReplica
        && KeptForRises == other.KeptForRises
        && ValueArrays.Equal(Regions, other.Regions)
        && ValueArrays.Equal(ReadyInRegions, other.ReadyInRegions);

    public override int GetHashCode()
    {
        var hash = default(HashCode);
        hash.Add(DeploymentId, StringComparer.Ordinal);
        hash.Add(Model, StringComparer.Ordinal);
        hash.Add(Class);
        hash.Add(DemandTokensPerSecond);
        hash.Add(ReadyReplicas);
        hash.Add(TokensPerSecondPerReplica);
        hash.Add(KeptForRises);
        ValueArrays.Add(ref hash, Regions);
        ValueArrays.Add(ref hash, ReadyInRegions);
        return hash.ToHashCode();
    }

    /// <summary>Whether its requests may be served on a replica in <paramref name="region"/> (null: a lender that gave no regions).</summary>
    public bool MayBeServedIn(string? region) =>
        region is null || Regions is not { Length: > 0 } || Regions.Contains(region, StringComparer.Ordinal);

    /// <summary>
    /// <paramref name="room"/> (what it has to lend in one round) by region: in proportion to its ready replicas there,
    /// each share rounded down; one share with no region when <see cref="ReadyInRegions"/> is not given.
    /// </summary>
    public IEnumerable<(string? Region, decimal Room)> RoomByRegion(decimal room)
    {
        var regions = ReadyInRegions?.Where(r => r.Replicas > 0).ToArray();
        if (regions is not { Length: > 0 })
        {
            yield return (null, room);
            yield break;
        }

        var total = regions.Sum(r => r.Replicas);
        foreach (var r in regions.OrderBy(r => r.Region, StringComparer.Ordinal))
        {
            yield return (r.Region, SlackSharing.Floor(room * r.Replicas / total));
        }
    }
}

/// <summary>How many of a deployment's ready replicas run in one region.</summary>
[GenerateSerializer, Alias("region-replicas")]
public sealed record RegionReplicas(
    [property: Id(0)] string Region,
    [property: Id(1)] int Replicas);

/// <summary>Tokens/s of one deployment (the borrower) routed to the replicas of another deployment of its model (the lender).</summary>
/// <param name="Region">The region of the lender's replicas that carry it; null where the lender gave no regions.</param>
[GenerateSerializer, Alias("slack-grant")]
public sealed record SlackGrant(
    [property: Id(0)] string BorrowerId,
    [property: Id(1)] string LenderId,
    [property: Id(2)] decimal TokensPerSecond,
    [property: Id(3)] string? Region = null);

/// <summary>What <see cref="SlackSharing.Allocate"/> hands out: every non-zero grant, in a stable order.</summary>
public sealed class SlackAllocation(IReadOnlyList<SlackGrant> grants)
{
    public static readonly SlackAllocation None = new([]);

    public IReadOnlyList<SlackGrant> Grants { get; } = grants;

    /// <summary>Tokens/s a shared deployment gets on dedicated slack, all lenders together.</summary>
    public decimal TokensFor(string borrowerId) =>
        Grants.Where(g => g.BorrowerId == borrowerId).Sum(g => g.TokensPerSecond);

    /// <summary>A shared deployment's grants, one per dedicated deployment that lends to it.</summary>
    public IReadOnlyList<SlackGrant> GrantsTo(string borrowerId) =>
        Grants.Where(g => g.BorrowerId == borrowerId).ToArray();

    /// <summary>Tokens/s of shared work a dedicated deployment carries, all borrowers together.</summary>
    public decimal LentBy(string lenderId) =>
        Grants.Where(g => g.LenderId == lenderId).Sum(g => g.TokensPerSecond);
}

/// <summary>
/// Tokens move between deployments of the same model by requests, at request priorities, so that no loaded replica
/// idles while another deployment of its model waits for capacity:
/// <list type="number">
/// <item>a dedicated deployment's demand beyond its ready replicas (a rise while its new replicas load, a lost node)
/// is served at top priority on batch replicas of its model (batch requests wait; the backlog keeps), then on what
/// serverless replicas have left after their own demand, then on the spare of other dedicated deployments of its model
/// (after their own customers' demand); serverless requests and other customers' requests are never displaced;</item>
/// <item>serverless demand beyond its ready replicas is served on dedicated replicas' spare (ready capacity less the
/// dedicated deployment's own demand) at lower priority: dedicated requests are never queued behind shared ones;</item>
/// <item>batch takes whatever spare is left on dedicated and serverless replicas.</item>
/// </list>
/// Requests stay in the regions their deployment allows: a lender's room is split by the regions its ready replicas are
/// in, and a borrower takes only the shares in its regions. In each round the borrowers that may use the same shares
/// are served together, those with the fewest shares open to them first (the others can go elsewhere); within them the
/// room is pooled and handed out in proportion to what they miss, each grant spread over the shares in proportion to the
/// room they have.
/// <para>
/// Figures are rounded down to <see cref="Decimals"/> decimals at every share, so the grants of a lender never add up
/// to more than its room and a borrower never gets more than its unmet demand. Plain function of its input: the
/// gateway's routing answer and the simulator call the same code.
/// </para>
/// </summary>
public static class SlackSharing
{
    /// <summary>Decimals of a token/s figure a grant carries (a thousandth of a token per second).</summary>
    public const int Decimals = 3;

    /// <summary>Hands spare capacity between deployments of the same model (see the type's remarks).</summary>
    /// <param name="deployments">Deployments of any models and classes, each id once.</param>
    public static SlackAllocation Allocate(IReadOnlyList<ModelDemand> deployments)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        var grants = new List<SlackGrant>();
        foreach (var model in deployments.GroupBy(d => d.Model, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var ordered = model.OrderBy(d => d.DeploymentId, StringComparer.Ordinal).ToArray();

            // 1. A dedicated deployment's demand beyond its ready replicas (a rise its new replicas are still loading for)
            //    goes first to batch replicas of its model (batch requests wait: their backlog keeps), then to what serverless
            //    replicas have left after their own demand (idle now), then to the spare of other dedicated deployments of
            //    its model (after their customers' demand, before serverless overflow takes it). Serverless requests on
            //    serverless replicas, and other customers' requests, are never displaced.
            var dedicated = ordered.Where(d => d.Class == DeploymentClass.Dedicated).ToArray();
            Lend(grants, dedicated, ordered.Where(d => d.Class == DeploymentClass.Batch), d => d.ReadyCapacity);
            Lend(grants, dedicated, ordered.Where(d => d.Class == DeploymentClass.Serverless), d => d.SpareForBatch);
            Lend(grants, dedicated, dedicated, d => d.Spare);

            // 2. Serverless demand beyond its ready replicas goes to dedicated replicas' spare, at lower priority, then to
            //    what batch replicas of its model have not lent to a dedicated rise (batch requests wait: it ranks below).
            var serverless = ordered.Where(d => d.Class == DeploymentClass.Serverless).ToArray();
            Lend(grants, serverless, dedicated, d => d.Spare);
            Lend(grants, serverless, ordered.Where(d => d.Class == DeploymentClass.Batch), d => d.ReadyCapacity);

            // 3. Batch takes what is left anywhere: dedicated spare, then serverless spare.
            var batch = ordered.Where(d => d.Class == DeploymentClass.Batch).ToArray();
            Lend(grants, batch, dedicated, d => d.Spare);
            Lend(grants, batch, ordered.Where(d => d.Class == DeploymentClass.Serverless), d => d.SpareForBatch);
        }

        return new SlackAllocation(grants);
    }

    /// <summary>
    /// One round: the lenders' room (<paramref name="room"/> less what they lent already, by region) is handed to the
    /// borrowers in proportion to what they still miss (their unmet demand less what they were granted already), among
    /// borrowers that may use the same regional shares of it; each grant is taken from those shares in proportion to the
    /// room they have.
    /// </summary>
    private static void Lend(List<SlackGrant> grants, IReadOnlyList<ModelDemand> borrowers, IEnumerable<ModelDemand> lenders, Func<ModelDemand, decimal> room)
    {
        var needs = borrowers
            .Select(b => (Borrower: b, Need: b.Unmet - Granted(grants, b.DeploymentId)))
            .Where(b => b.Need > 0)
            .ToArray();
        if (needs.Length == 0)
        {
            return;
        }

        var cells = new List<Cell>();
        foreach (var lender in lenders)
        {
            foreach (var (region, share) in lender.RoomByRegion(room(lender)))
            {
                var left = share - Lent(grants, lender.DeploymentId, region);
                if (left > 0)
                {
                    cells.Add(new Cell(lender.DeploymentId, region, left));
                }
            }
        }

        if (cells.Count == 0)
        {
            return;
        }

        // Borrowers that may use the same shares are served together; the most restricted first.
        var groups = needs
            .Select(b => (Need: b, Open: Enumerable.Range(0, cells.Count).Where(c => b.Borrower.MayBeServedIn(cells[c].Region)).ToArray()))
            .Where(b => b.Open.Length > 0)
            .GroupBy(b => string.Join('|', b.Open), StringComparer.Ordinal)
            .Select(g => (g.First().Open, Members: g.Select(b => b.Need).ToArray()))
            .OrderBy(g => g.Open.Length)
            .ThenBy(g => g.Members[0].Borrower.DeploymentId, StringComparer.Ordinal)
            .ToArray();
        foreach (var (open, members) in groups)
        {
            // Shares are taken from the cells as they stood before this group.
            var before = open.Select(c => cells[c].Room).ToArray();
            var pool = before.Sum();
            var unmet = members.Sum(b => b.Need);
            if (pool <= 0)
            {
                continue;
            }

            foreach (var (borrower, need) in members)
            {
                var wanted = unmet <= pool ? need : Floor(need * pool / unmet);
                var owed = wanted;
                for (var i = 0; i < open.Length && owed > 0; i++)
                {
                    var cell = cells[open[i]];
                    // The minimums only guard against decimal division rounding a quotient up past a bound.
                    var share = Math.Min(Math.Min(Floor(wanted * before[i] / pool), cell.Room), owed);
                    if (share > 0)
                    {
                        grants.Add(new SlackGrant(borrower.DeploymentId, cell.LenderId, share, cell.Region));
                        cell.Room -= share;
                        owed -= share;
                    }
                }
            }
        }
    }

    /// <summary>What one lender has left to lend in one region (null: it gave no regions) in a round.</summary>
    private sealed class Cell(string lenderId, string? region, decimal room)
    {
        public string LenderId { get; } = lenderId;

        public string? Region { get; } = region;

        public decimal Room { get; set; } = room;
    }

    private static decimal Granted(List<SlackGrant> grants, string borrower)
    {
        var granted = 0m;
        foreach (var grant in grants)
        {
            if (string.Equals(grant.BorrowerId, borrower, StringComparison.Ordinal))
            {
                granted += grant.TokensPerSecond;
            }
        }

        return granted;
    }

    /// <summary>
    /// The demand each serverless deployment should scale its own replicas on: its demand less its share of the spare its
    /// model's dedicated deployments keep in the regions it may be served in (shared among the model's serverless deployments
    /// in proportion to their demand). Give each dedicated deployment's <see cref="ModelDemand.ReadyReplicas"/> as the ready replicas it keeps
    /// (<see cref="Autoscaler.Keeps"/>): a replica a pending scale-down will release is not counted on, so serverless takes
    /// its work over before it goes; and its <see cref="ModelDemand.KeptForRises"/>, which is not counted on either. Slack
    /// beyond that still takes serverless overflow through the routes; it is only not counted on for scaling. Deployments
    /// of other classes are not in the answer.
    /// </summary>
    public static IReadOnlyDictionary<string, decimal> ScalingDemand(IReadOnlyList<ModelDemand> deployments)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        var scaling = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var model in deployments.GroupBy(d => d.Model, StringComparer.Ordinal))
        {
            var spare = model.SelectMany(d => d.RoomByRegion(d.SpareToCountOn)).ToArray();
            var serverless = model.Where(d => d.Class == DeploymentClass.Serverless).ToArray();
            var demand = serverless.Sum(d => d.Demand);
            foreach (var d in serverless)
            {
                // Only the spare in its regions; shared with every serverless deployment of the model (an under-count for a
                // restricted one, so it scales a little early rather than counting on room its requests may not use).
                var open = spare.Where(s => d.MayBeServedIn(s.Region)).Sum(s => s.Room);
                var share = demand <= 0 ? 0 : Math.Min(d.Demand, open * d.Demand / demand);
                scaling[d.DeploymentId] = Floor(Math.Max(0, d.Demand - share));
            }
        }

        return scaling;
    }

    private static decimal Lent(List<SlackGrant> grants, string lender, string? region)
    {
        var lent = 0m;
        foreach (var grant in grants)
        {
            if (string.Equals(grant.LenderId, lender, StringComparison.Ordinal) && string.Equals(grant.Region, region, StringComparison.Ordinal))
            {
                lent += grant.TokensPerSecond;
            }
        }

        return lent;
    }

    /// <summary>Rounded towards zero (down, for the non-negative figures here) to <see cref="Decimals"/> decimals.</summary>
    public static decimal Floor(decimal tokensPerSecond) => decimal.Round(tokensPerSecond, Decimals, MidpointRounding.ToZero);
}
