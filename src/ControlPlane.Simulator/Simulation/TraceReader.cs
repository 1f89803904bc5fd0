using System.Globalization;

namespace ControlPlane.Simulator.Simulation;

/// <summary>A trace that cannot be read, with the line that is wrong.</summary>
internal sealed class TraceFormatException(string message) : Exception(message);

/// <summary>One request of a looped trace.</summary>
/// <param name="Loop">Which pass over the trace (0 for the first); with <paramref name="Index"/> it names the request.</param>
/// <param name="Index">The request's row in the trace, in time order from 0.</param>
/// <param name="TraceSeconds">When it arrives in looped trace time: its offset plus <paramref name="Loop"/> periods.</param>
/// <param name="InputTokens">Context (prompt) tokens.</param>
/// <param name="OutputTokens">Generated tokens.</param>
internal readonly record struct TraceRequest(long Loop, int Index, double TraceSeconds, long InputTokens, long OutputTokens)
{
    public long Tokens => InputTokens + OutputTokens;
}

/// <summary>
/// A request trace: when each request arrived (seconds after the first) and how many tokens it carried (context
/// and generated: apart for metering, summed as the work a replica does for it). Played in a loop: its period is
/// its span plus one mean gap between requests, so the last request and the first one of the next loop are as far
/// apart as requests usually are.
/// </summary>
internal sealed class Trace
{
    private readonly double[] _offsets;
    private readonly long[] _input;
    private readonly long[] _output;
    private readonly long[] _cumulative;

    private Trace(string name, string source, DateTimeOffset first, double[] offsets, long[] input, long[] output)
    {
        Name = name;
        Source = source;
        FirstTimestamp = first;
        _offsets = offsets;
        _input = input;
        _output = output;
        _cumulative = new long[offsets.Length + 1];
        for (var i = 0; i < offsets.Length; i++)
        {
            _cumulative[i + 1] = _cumulative[i] + input[i] + output[i];
        }

        PeriodSeconds = offsets[^1] * offsets.Length / (offsets.Length - 1);
    }

    /// <summary>The file name without extension; deployments name the trace that drives them by it.</summary>
    public string Name { get; }

    /// <summary>Where it was read from, as given.</summary>
    public string Source { get; }

    public DateTimeOffset FirstTimestamp { get; }

    public int Rows => _offsets.Length;

    public double DurationSeconds => _offsets[^1];

    public double PeriodSeconds { get; }

    public long TotalTokens => _cumulative[^1];

    /// <summary>The trace's mean token rate over a period.</summary>
    public double MeanTokensPerSecond => TotalTokens / PeriodSeconds;

    /// <summary>
    /// A trace from requests given in memory (tests, synthetic traffic); at least two, not all at one instant.
    /// </summary>
    public static Trace FromRequests(string name, IEnumerable<(double OffsetSeconds, long Tokens)> requests, DateTimeOffset? first = null) =>
        FromRequests(name, requests.Select(r => (r.OffsetSeconds, r.Tokens, 0L)), first);

    /// <summary>
    /// A trace from requests with their input and output tokens apart; at least two, not all at one instant.
    /// </summary>
    public static Trace FromRequests(string name, IEnumerable<(double OffsetSeconds, long InputTokens, long OutputTokens)> requests, DateTimeOffset? first = null)
    {
        var sorted = requests.OrderBy(r => r.OffsetSeconds).ToArray();
        if (sorted.Length < 2 || sorted[^1].OffsetSeconds <= sorted[0].OffsetSeconds)
        {
            throw new TraceFormatException($"{name}: a trace needs at least two requests at different times");
        }

        var origin = sorted[0].OffsetSeconds;
        return new Trace(
            name,
            name,
            (first ?? DateTimeOffset.UnixEpoch).AddSeconds(origin),
            sorted.Select(r => r.OffsetSeconds - origin).ToArray(),
            sorted.Select(r => r.InputTokens).ToArray(),
            sorted.Select(r => r.OutputTokens).ToArray());
    }

    /// <summary>
    /// Tokens of the requests that arrive in trace time [<paramref name="from"/>, <paramref name="to"/>), the trace
    /// looped forever both ways (so any time has traffic).
    /// </summary>
    public double TokensBetween(double from, double to) => TokensBefore(to) - TokensBefore(from);

    /// <summary>
    /// The requests that arrive in trace time [<paramref name="from"/>, <paramref name="to"/>), in order, the trace
    /// looped as in <see cref="TokensBetween"/>: their tokens add up to it.
    /// </summary>
    public IEnumerable<TraceRequest> RequestsBetween(double from, double to)
    {
        if (!(to > from))
        {
            yield break;
        }

        for (var loop = (long)Math.Floor(from / PeriodSeconds); loop * PeriodSeconds < to; loop++)
        {
            var start = loop * PeriodSeconds;
            for (var i = FirstAtOrAfter(from - start); i < _offsets.Length && _offsets[i] < to - start; i++)
            {
                yield return new TraceRequest(loop, i, start + _offsets[i], _input[i], _output[i]);
            }
        }
    }

    /// <summary>Tokens of the requests before trace time <paramref name="time"/>, counting from the loop that starts at 0.</summary>
    private double TokensBefore(double time)
    {
        var loops = Math.Floor(time / PeriodSeconds);
        return loops * TotalTokens + _cumulative[FirstAtOrAfter(time - loops * PeriodSeconds)];
    }

    /// <summary>The first request at or after <paramref name="within"/> seconds into a loop (0 before the first).</summary>
    private int FirstAtOrAfter(double within)
    {
        var index = Array.BinarySearch(_offsets, within);
        if (index < 0)
        {
            return ~index;
        }

        // Requests at exactly this time are not before it.
        while (index > 0 && _offsets[index - 1] == within)
        {
            index--;
        }

        return index;
    }

    internal static Trace Create(string name, string source, DateTimeOffset first, double[] offsets, long[] input, long[] output) =>
        new(name, source, first, offsets, input, output);
}

/// <summary>
/// Reads a trace in the Azure LLM inference trace format: a header naming <c>TIMESTAMP</c>, <c>ContextTokens</c>
/// and <c>GeneratedTokens</c> (any order, any case, more columns allowed), then one request a line. Timestamps are
/// ISO-like (<c>2023-11-16 18:15:46.6805900</c>, optionally with an offset as in the 2024 traces; without one, UTC).
/// Rows out of order are sorted.
/// </summary>
internal static class TraceReader
{
    public static Trace Read(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            return Read(reader, Path.GetFileNameWithoutExtension(path), path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TraceFormatException($"{path}: cannot be read: {e.Message}");
        }
    }

    public static Trace Read(TextReader reader, string name, string source)
    {
        var header = reader.ReadLine();
        if (header is null)
        {
            throw new TraceFormatException($"{source}: is empty: expected a header TIMESTAMP,ContextTokens,GeneratedTokens");
        }

        var columns = header.TrimStart('\uFEFF').Split(',').Select(c => c.Trim()).ToArray();
        var time = Column("TIMESTAMP");
        var context = Column("ContextTokens");
        var generated = Column("GeneratedTokens");
        var needed = Math.Max(time, Math.Max(context, generated)) + 1;

        var rows = new List<(DateTimeOffset At, long Input, long Output)>();
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            var fields = line.Split(',');
            if (fields.Length < needed)
            {
                throw new TraceFormatException($"{source}:{lineNumber}: expected {columns.Length} fields, found {fields.Length}");
            }

            if (!DateTimeOffset.TryParse(fields[time].Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                throw new TraceFormatException($"{source}:{lineNumber}: '{fields[time]}' is not a timestamp");
            }

            rows.Add((at, Tokens(fields[context], "ContextTokens"), Tokens(fields[generated], "GeneratedTokens")));

            long Tokens(string text, string column) =>
                long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= int.MaxValue
                    ? n
                    : throw new TraceFormatException($"{source}:{lineNumber}: {column} '{text}' is not a whole number of tokens");
        }

        if (rows.Count < 2)
        {
            throw new TraceFormatException($"{source}: a trace needs at least two requests, found {rows.Count}");
        }

        // A stable sort keeps the file's order among equal timestamps, so the trace is the same however it is read.
        var sorted = rows.Select((r, i) => (r.At, r.Input, r.Output, i)).OrderBy(r => r.At).ThenBy(r => r.i).ToArray();
        var first = sorted[0].At;
        var offsets = sorted.Select(r => (r.At - first).TotalSeconds).ToArray();
        if (offsets[^1] <= 0)
        {
            throw new TraceFormatException($"{source}: every request has the same timestamp: the trace has no duration");
        }

        return Trace.Create(name, source, first, offsets, sorted.Select(r => r.Input).ToArray(), sorted.Select(r => r.Output).ToArray());

        int Column(string name)
        {
            var index = Array.FindIndex(columns, c => string.Equals(c, name, StringComparison.OrdinalIgnoreCase));
            return index >= 0
                ? index
                : throw new TraceFormatException($"{source}:1: the header has no {name} column (expected TIMESTAMP,ContextTokens,GeneratedTokens, got '{header}')");
        }
    }
}
