using ControlPlane.Contracts;
using ControlPlane.Contracts.Auth;
using ControlPlane.Server.Options;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Auth;

/// <summary>
/// This silo's copy of the revoked token ids, read from the token registry every <see cref="AuthOptions.RevocationRefreshSeconds"/>
/// (an unchanged registry answers with nothing), so checking a token costs no grain call. A revocation through this silo
/// is in force here at once, on the others within one refresh. Until the first read succeeds (the cluster is still
/// starting), tokens are checked for signature, installation and expiry only, and the failure is logged.
/// </summary>
public sealed partial class RevokedTokenCache(IGrainFactory grains, TimeProvider time, ILogger<RevokedTokenCache> logger)
{
    private volatile RevokedTokens _revoked = new(-1, []);
    private volatile HashSet<string> _ids = new(StringComparer.Ordinal);

    // Revocations made through this silo, kept in every copy: a refresh that was read before one landed cannot drop it.
    private readonly HashSet<string> _local = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    // The one read a request that finds the copy not loaded yet waits for: requests arriving together share it, and a
    // failed one is not tried again by requests for a second (the refresher keeps trying), so a registry that does not
    // answer costs the request path one grain call a second, not one per request.
    private Task? _firstLoad;
    private DateTimeOffset _firstLoadTriedAt = DateTimeOffset.MinValue;

    /// <summary>Whether the registry has been read at least once.</summary>
    public bool Loaded => _revoked.Version >= 0;

    /// <summary>Reads the registry once if it has never been read: what a request does before it trusts the copy.</summary>
    public Task EnsureLoadedAsync()
    {
        if (Loaded)
        {
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_firstLoad is { IsCompleted: false } running)
            {
                return running;
            }

            if (now - _firstLoadTriedAt < TimeSpan.FromSeconds(1))
            {
                return Task.CompletedTask;
            }

            _firstLoadTriedAt = now;
            _firstLoad = RefreshAsync();
            return _firstLoad;
        }
    }

    public bool IsRevoked(string tokenId) => _ids.Contains(tokenId);

    /// <summary>Reads the registry if it changed since the last read; false when it could not be read.</summary>
    public async Task<bool> RefreshAsync()
    {
        try
        {
            var known = _revoked.Version;
            var fresh = await grains.GetGrain<ITokenRegistryGrain>(GrainKeys.TokenRegistry).GetRevokedAsync(known, time.GetUtcNow());
            if (fresh is not null && fresh.Version > _revoked.Version)
            {
                lock (_gate)
                {
                    _ids = new HashSet<string>(fresh.TokenIds.Concat(_local), StringComparer.Ordinal);
                    _revoked = fresh;
                }
            }
            else if (fresh is null && known < 0)
            {
                _revoked = new RevokedTokens(0, []);
            }

            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRefreshFailed(e.Message);
            return false;
        }
    }

    /// <summary>A revocation made through this silo: in force here before the next refresh.</summary>
    public void Add(string tokenId)
    {
        lock (_gate)
        {
            _local.Add(tokenId);
            _ids = new HashSet<string>(_ids, StringComparer.Ordinal) { tokenId };
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the revoked tokens (tokens are checked without them until a read succeeds): {Reason}")]
    private partial void LogRefreshFailed(string reason);
}

/// <summary>Refreshes <see cref="RevokedTokenCache"/> on its period for as long as the silo runs.</summary>
public sealed class RevokedTokenRefresher(RevokedTokenCache cache, IOptions<AuthOptions> options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RevocationRefreshSeconds));
        try
        {
            do
            {
                await cache.RefreshAsync();
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
