// Bench-only: the least a page can do to make a call over webcall's
// signaling: getUserMedia and the WebSocket at once, join, the joiner
// offers as soon as it has its welcome and its camera, trickle ICE both
// ways, show the remote video. The room token is the page's ?room=; with
// ?wait=1 the page loads and waits for window.begin(), as the product's
// page waits for "Start the call".
'use strict';

function begin() {
    const token = new URLSearchParams(location.search).get('room');
    const status = document.getElementById('status');
    const remote = document.querySelector('.tile.remote video');
    let pc = null;
    let peer = null;
    let ice = [];
    const early = [];
    const media = navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    media.then((s) => { document.getElementById('self-video').srcObject = s; });
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/${token}`);
    const send = (m) => ws.send(JSON.stringify(m));

    async function connection(to) {
        peer = to;
        pc = new RTCPeerConnection({ iceServers: ice });
        pc.onicecandidate = (e) => { if (e.candidate) send({ type: 'candidate', to, candidate: e.candidate.toJSON() }); };
        pc.ontrack = (e) => { if (remote.srcObject !== e.streams[0]) remote.srcObject = e.streams[0]; };
        pc.onconnectionstatechange = () => { status.textContent = pc.connectionState; };
        const stream = await media;
        for (const t of stream.getTracks()) pc.addTrack(t, stream);
        return pc;
    }

    ws.onopen = () => send({ type: 'join' });
    ws.onmessage = async (e) => {
        const m = JSON.parse(e.data);
        if (m.type === 'welcome') {
            ice = m.iceServers;
            status.textContent = 'joined';
            if (m.peers.length > 0) {
                await connection(m.peers[0]);
                await pc.setLocalDescription();
                send({ type: 'offer', to: peer, sdp: pc.localDescription.sdp });
            }
        } else if (m.type === 'offer') {
            await connection(m.from);
            await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
            for (const c of early.splice(0)) await pc.addIceCandidate(c);
            await pc.setLocalDescription();
            send({ type: 'answer', to: m.from, sdp: pc.localDescription.sdp });
        } else if (m.type === 'answer') {
            await pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
            for (const c of early.splice(0)) await pc.addIceCandidate(c);
        } else if (m.type === 'candidate' && m.candidate) {
            if (pc?.remoteDescription) await pc.addIceCandidate(m.candidate);
            else early.push(m.candidate);
        }
    };
}

if (new URLSearchParams(location.search).get('wait')) window.begin = begin;
else begin();
