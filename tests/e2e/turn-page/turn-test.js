// Test-only: a two-party call through the webcall signaling WebSocket with
// the iceServers from `welcome`. The test calls window.turnTest.call(token,
// policy) and reads window.turnTest.state and .stats().
'use strict';

(() => {
    const state = {
        id: null, peer: null, iceServers: null, wsState: 'new', pcState: 'new',
        iceState: 'new', candidateErrors: [], localCandidates: [], log: [],
    };
    let pc = null;
    let ws = null;
    let stream = null;
    let policy = 'relay';
    const pendingCandidates = [];

    const log = (m) => state.log.push(`${Math.round(performance.now())} ${m}`);
    const send = (obj) => ws.send(JSON.stringify(obj));

    function newPc(peerId) {
        state.peer = peerId;
        pc = new RTCPeerConnection({ iceServers: state.iceServers, iceTransportPolicy: policy });
        for (const track of stream.getTracks()) pc.addTrack(track, stream);
        pc.onicecandidate = (e) => {
            if (e.candidate) state.localCandidates.push(e.candidate.candidate);
            send({ type: 'candidate', to: peerId, candidate: e.candidate ? e.candidate.toJSON() : null });
        };
        pc.onicecandidateerror = (e) => {
            state.candidateErrors.push({ url: e.url, code: e.errorCode, text: e.errorText });
        };
        pc.onconnectionstatechange = () => { state.pcState = pc.connectionState; log(`pc ${pc.connectionState}`); };
        pc.oniceconnectionstatechange = () => { state.iceState = pc.iceConnectionState; };
        pc.ontrack = (e) => {
            const v = document.getElementById('remote');
            if (v.srcObject !== e.streams[0]) v.srcObject = e.streams[0];
        };
        return pc;
    }

    async function flushCandidates() {
        while (pendingCandidates.length) await pc.addIceCandidate(pendingCandidates.shift());
    }

    async function onMessage(msg) {
        switch (msg.type) {
        case 'welcome':
            state.id = msg.id;
            state.iceServers = msg.iceServers;
            log(`welcome ${msg.id} peers=${msg.peers.join(',')}`);
            if (msg.peers.length > 0) {
                newPc(msg.peers[0]);
                await pc.setLocalDescription(await pc.createOffer());
                send({ type: 'offer', to: msg.peers[0], sdp: pc.localDescription.sdp });
            }
            break;
        case 'peer-joined':
            log(`peer-joined ${msg.id}`);
            break;
        case 'offer':
            newPc(msg.from);
            await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
            await flushCandidates();
            await pc.setLocalDescription(await pc.createAnswer());
            send({ type: 'answer', to: msg.from, sdp: pc.localDescription.sdp });
            break;
        case 'answer':
            await pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
            await flushCandidates();
            break;
        case 'candidate':
            if (msg.candidate === null) break;
            if (pc && pc.remoteDescription) await pc.addIceCandidate(msg.candidate);
            else pendingCandidates.push(msg.candidate);
            break;
        case 'error':
            log(`error ${msg.code} ${msg.message}`);
            break;
        default:
            break;
        }
    }

    async function call(token, iceTransportPolicy = 'relay') {
        policy = iceTransportPolicy;
        stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
        document.getElementById('local').srcObject = stream;
        const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
        ws = new WebSocket(`${scheme}://${location.host}/ws/${token}`);
        ws.onclose = (e) => { state.wsState = `closed ${e.code}`; };
        ws.onmessage = (e) => {
            onMessage(JSON.parse(e.data)).catch((err) => log(`failed: ${err}`));
        };
        await new Promise((resolve, reject) => {
            ws.onopen = resolve;
            ws.onerror = () => reject(new Error('WebSocket failed'));
        });
        state.wsState = 'open';
        send({ type: 'join' });
    }

    // The selected candidate pair (with both candidates) and the inbound
    // video counters.
    async function stats() {
        if (!pc) return null;
        const report = await pc.getStats();
        const all = new Map();
        report.forEach((s) => all.set(s.id, s));
        let pair = null;
        for (const s of all.values()) {
            if (s.type === 'transport' && s.selectedCandidatePairId) pair = all.get(s.selectedCandidatePairId);
        }
        if (!pair) {
            for (const s of all.values()) {
                if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
            }
        }
        let video = null;
        for (const s of all.values()) {
            if (s.type === 'inbound-rtp' && s.kind === 'video') video = s;
        }
        const pick = (c) => c && {
            candidateType: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol,
            address: c.address, port: c.port, url: c.url,
        };
        const remote = document.getElementById('remote');
        return {
            pair: pair && {
                state: pair.state, bytesReceived: pair.bytesReceived, bytesSent: pair.bytesSent,
                local: pick(all.get(pair.localCandidateId)), remote: pick(all.get(pair.remoteCandidateId)),
            },
            framesDecoded: video ? video.framesDecoded || 0 : 0,
            videoWidth: remote.videoWidth,
        };
    }

    function hangUp() {
        try { send({ type: 'bye' }); } catch { /* closed */ }
        if (pc) pc.close();
        if (stream) stream.getTracks().forEach((t) => t.stop());
    }

    window.turnTest = { call, stats, hangUp, state };
})();
