import { describe, expect, it } from 'vitest';
import {
    cannotCallMessage, inAppBrowser, isCannotCall, missingPiece, shouldKnock, type BrowserFacts,
} from '../../web/src/capability.ts';

const ALL: BrowserFacts = { secure: true, peerConnection: true, getUserMedia: true, webSocket: true };

describe('what a call needs of the browser', () => {
    it('a browser with everything can call', () => {
        expect(missingPiece(ALL)).toBeNull();
    });

    it('each missing piece gets its own sentence', () => {
        expect(missingPiece({ ...ALL, peerConnection: false })).toBe('webrtc');
        expect(missingPiece({ ...ALL, webSocket: false })).toBe('webrtc');
        expect(missingPiece({ ...ALL, getUserMedia: false })).toBe('media');
        expect(missingPiece({ ...ALL, secure: false })).toBe('insecure');
    });

    it('a plain-http address is named first: there the browser hides the camera anyway', () => {
        // Chrome at http://<address> has RTCPeerConnection but no mediaDevices
        expect(missingPiece({ ...ALL, secure: false, getUserMedia: false })).toBe('insecure');
        expect(missingPiece({ secure: false, peerConnection: false, getUserMedia: false, webSocket: true }))
            .toBe('insecure');
        // WebKitGTK (Debian): a camera, but no WebRTC
        expect(missingPiece({ ...ALL, peerConnection: false, getUserMedia: true })).toBe('webrtc');
        expect(missingPiece({ ...ALL, peerConnection: false, getUserMedia: false })).toBe('webrtc');
    });
});

// Real user agents, as the apps send them.
const UA = {
    chromeLinux: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    chromeAndroid: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36',
    samsung: 'Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36',
    safariIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
    chromeIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1',
    firefoxIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/120.0 Mobile/15E148 Safari/605.1.15',
    safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
    miniBrowser: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15',
    facebookIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/16.6;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]',
    facebookAndroid: 'Mozilla/5.0 (Linux; Android 13; SM-S908B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/442.0.0.36.109;]',
    messengerAndroid: 'Mozilla/5.0 (Linux; Android 12; Pixel 6 Build/SQ3A.220705.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 [FB_IAB/Orca-Android;FBAV/435.0.0.12.108;]',
    messengerIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/MessengerForiOS;FBAV/436.0.0.33.111;FBBV/528419474;FBDV/iPhone13,2;FBMD/iPhone;FBSN/iOS;FBSV/17.0;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]',
    instagramIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 307.0.0.25.111 (iPhone13,2; iOS 17_0; en_US; en; scale=3.00; 1170x2532; 532277137)',
    instagramAndroid: 'Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 Instagram 309.0.0.40.113 Android (31/12; 420dpi; 1080x2177; samsung; SM-G991B; o1s; exynos2100; en_GB; 541635890)',
    whatsappIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 WhatsApp/23.24.78',
    telegramAndroid: 'Mozilla/5.0 (Linux; Android 11; SM-A515F Build/RP1A.200720.012; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36 Telegram-Android/10.2.6 (Samsung SM-A515F; Android 11; SDK 30; AVERAGE)',
    viberAndroid: 'Mozilla/5.0 (Linux; Android 10; Redmi Note 8 Build/QKQ1.200114.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.5993.111 Mobile Safari/537.36 Viber/20.7.0.0',
    vkAndroid: 'Mozilla/5.0 (Linux; Android 13; 2201117TY Build/TKQ1.221114.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile Safari/537.36 VKAndroidApp/8.50-15840 (Android 13; SDK 33; arm64-v8a; Xiaomi 2201117TY; ru; 2400x1080)',
    wechatIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2b) NetType/WIFI Language/zh_CN',
    lineIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/13.18.0',
    webviewAndroid: 'Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230805.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36',
    webviewIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
};

describe('a messenger\'s own browser', () => {
    it('real browsers are not taken for one', () => {
        for (const ua of [UA.chromeLinux, UA.chromeAndroid, UA.samsung, UA.safariIos, UA.chromeIos, UA.firefoxIos,
                          UA.safariMac, UA.miniBrowser]) {
            expect(inAppBrowser(ua), ua).toBeNull();
        }
    });

    it('is named, with the system whose menu the steps describe', () => {
        expect(inAppBrowser(UA.facebookIos)).toEqual({ app: 'Facebook', os: 'ios' });
        expect(inAppBrowser(UA.facebookAndroid)).toEqual({ app: 'Facebook', os: 'android' });
        expect(inAppBrowser(UA.messengerAndroid)).toEqual({ app: 'Messenger', os: 'android' });
        expect(inAppBrowser(UA.messengerIos)).toEqual({ app: 'Messenger', os: 'ios' });
        expect(inAppBrowser(UA.instagramIos)).toEqual({ app: 'Instagram', os: 'ios' });
        expect(inAppBrowser(UA.instagramAndroid)).toEqual({ app: 'Instagram', os: 'android' });
        expect(inAppBrowser(UA.whatsappIos)).toEqual({ app: 'WhatsApp', os: 'ios' });
        expect(inAppBrowser(UA.telegramAndroid)).toEqual({ app: 'Telegram', os: 'android' });
        expect(inAppBrowser(UA.viberAndroid)).toEqual({ app: 'Viber', os: 'android' });
        expect(inAppBrowser(UA.vkAndroid)).toEqual({ app: 'VK', os: 'android' });
        expect(inAppBrowser(UA.wechatIos)).toEqual({ app: 'WeChat', os: 'ios' });
        expect(inAppBrowser(UA.lineIos)).toEqual({ app: 'LINE', os: 'ios' });
    });

    it('an app\'s web view we cannot name is still one', () => {
        expect(inAppBrowser(UA.webviewAndroid)).toEqual({ app: null, os: 'android' });
        expect(inAppBrowser(UA.webviewIos)).toEqual({ app: null, os: 'ios' });
    });
});

describe('telling the room', () => {
    it('the word is a null candidate with one key more, and nothing else looks like it', () => {
        const m = cannotCallMessage('Pq2Rs3Tu');
        expect(m).toEqual({ type: 'candidate', to: 'Pq2Rs3Tu', candidate: null, cannotCall: true });
        expect(isCannotCall({ ...m, from: 'Ab3dEf7h' })).toBe(true);
        expect(isCannotCall({ type: 'candidate', from: 'Ab3dEf7h', candidate: null })).toBe(false);
        expect(isCannotCall({ type: 'candidate', from: 'Ab3dEf7h', candidate: null, pc: 'x', adopt: 1 })).toBe(false);
        expect(isCannotCall({ type: 'offer', from: 'Ab3dEf7h', sdp: 'v=0', cannotCall: true })).toBe(false);
        expect(isCannotCall({ type: 'candidate', candidate: { candidate: 'c' }, cannotCall: true })).toBe(false);
    });

    const room = (participants: number, maxParticipants = 2, pin = false) => ({ participants, maxParticipants, pin });

    it('knocks when someone waits who has not been told', () => {
        expect(shouldKnock(room(1), 0, false)).toBe(true);
        expect(shouldKnock(room(2, 4), 1, false)).toBe(true);
    });

    it('not in an empty room, nor again for the same people', () => {
        expect(shouldKnock(room(0), 0, false)).toBe(false);
        expect(shouldKnock(room(1), 1, false)).toBe(false);
        expect(shouldKnock(room(2, 4), 2, false)).toBe(false);
    });

    it('in a full room too: a knock takes no seat', () => {
        expect(shouldKnock(room(2), 0, false)).toBe(true);
        expect(shouldKnock(room(4, 4), 1, false)).toBe(true);
    });

    it('not in a PIN room without its pass', () => {
        expect(shouldKnock(room(1, 2, true), 0, false)).toBe(false);
        expect(shouldKnock(room(1, 2, true), 0, true)).toBe(true);
    });
});

