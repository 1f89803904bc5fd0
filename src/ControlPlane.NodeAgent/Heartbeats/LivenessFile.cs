namespace ControlPlane.NodeAgent.Heartbeats;

/// <summary>
/// A file the heartbeat loop rewrites after every heartbeat, accepted or not: its age tells a liveness probe
/// (e.g. <c>find FILE -mmin -10</c>) whether the loop still turns. A server that is down does not make it
/// old; a loop stuck on a hung call does.
/// </summary>
internal sealed class LivenessFile(string path, TimeProvider time, AgentLog log)
{
    private bool _warned;

    public string Path => path;

    /// <summary>Writes the time of the heartbeat just sent. A failure is logged once and never stops the loop.</summary>
    public void Touch()
    {
        try
        {
            File.WriteAllText(path, time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture) + "\n");
            _warned = false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!_warned)
            {
                log.Warn($"cannot write the liveness file {path}: {e.Message}");
                _warned = true;
            }
        }
    }
}
