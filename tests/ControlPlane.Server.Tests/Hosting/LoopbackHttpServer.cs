using System.Globalization;
using System.Net;

namespace ControlPlane.Server.Tests.Hosting;

/// <summary>
/// A small HTTP server on a free loopback port for stand-ins of outside services (a collector, an identity endpoint): it
/// answers each request with <c>handle</c>, one at a time, and closes each response after it.
/// </summary>
public sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _loop;

    private LoopbackHttpServer(HttpListener listener, int port, Func<HttpListenerContext, Task> handle)
    {
        _listener = listener;
        BaseAddress = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        _loop = Task.Run(() => ServeAsync(handle));
    }

    /// <summary>The server's base URL, without a trailing slash.</summary>
    public string BaseAddress { get; }

    /// <summary>Starts listening; a port another process took meanwhile is given up for a new one.</summary>
    public static LoopbackHttpServer Start(Func<HttpListenerContext, Task> handle)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
            try
            {
                listener.Start();
                return new LoopbackHttpServer(listener, port, handle);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop;
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task ServeAsync(Func<HttpListenerContext, Task> handle)
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var response = context.Response;
            await handle(context);
        }
    }
}
