using ControlPlane.Contracts;
using ControlPlane.Contracts.Partners;
using ControlPlane.Domain.Partners;

namespace ControlPlane.Server.Api.Partners;

/// <summary>
/// This silo's copy of the partner list, so the gateway's routing answer does not call the one partner directory on
/// every request. A change made through this silo is seen at once; one made through another silo within
/// <see cref="MaxAge"/>.
/// </summary>
public sealed class PartnerCache(IGrainFactory grains, TimeProvider time)
{
    /// <summary>How long a copy is used before it is read again: partners change rarely, and a late one only shifts overflow.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);

    private volatile Snapshot? _snapshot;

    public async Task<IReadOnlyList<Partner>> GetAsync()
    {
        var now = time.GetUtcNow();
        if (_snapshot is { } s && now - s.ReadAt < MaxAge)
        {
            return s.Partners;
        }

        var list = await grains.GetGrain<IPartnerDirectoryGrain>(GrainKeys.PartnerDirectory).ListAsync();
        // Two concurrent refreshes may finish out of order: keep the newer version.
        var fresh = new Snapshot(list.Version, list.Partners, now);
        if (_snapshot is not { } current || current.Version <= fresh.Version)
        {
            _snapshot = fresh;
        }

        return list.Partners;
    }

    /// <summary>Drops the copy after a change through this silo.</summary>
    public void Invalidate() => _snapshot = null;

    private sealed record Snapshot(long Version, IReadOnlyList<Partner> Partners, DateTimeOffset ReadAt);
}
